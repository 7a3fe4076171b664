"""Settings of the mail: delivery (the drain, its limits and timings) and the digests'
headers, footer and DKIM signing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from publisher.core.fieldchecks import Duration, duration_field
from publisher.core.vocab import DbPriority


class DomainLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = Field(default=10.0, gt=0, description="messages per second to this domain")
    connections: int = Field(default=4, ge=1, description="connections open to this domain")


class DeliverySettings(BaseModel):
    # --- delivery ---
    smtp_pool_size: int = Field(
        default=8, ge=1, le=256, description="Persistent SMTP connections kept open by a drain."
    )
    smtp_connect_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to connect, greet, EHLO, STARTTLS and AUTH."
    )
    smtp_command_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for the reply to MAIL, RCPT or DATA."
    )
    smtp_data_timeout: float = Field(
        default=600.0,
        gt=0,
        description="Seconds to wait for the final reply after the message (RFC 5321: 10 min).",
    )
    delivery_return_path: str = Field(
        default="", description="Envelope sender (MAIL FROM); from_address if empty."
    )
    delivery_rate: float = Field(
        default=200.0, ge=0, description="Messages per second for the whole drain; 0 = no limit."
    )
    delivery_domain_limits: dict[str, DomainLimit] = Field(
        default_factory=lambda: {
            "naver.com": DomainLimit(rate=20, connections=4),
            "daum.net": DomainLimit(rate=10, connections=3),
            "hanmail.net": DomainLimit(rate=10, connections=3),
            "gmail.com": DomainLimit(rate=50, connections=8),
        },
        description="Per recipient-domain limits: {domain: {rate, connections}}.",
    )
    expiry_digest: Duration = duration_field("24h", "A digest not delivered by then expires.")
    expiry_confirm: Duration = duration_field("3d", "A confirmation not delivered by then expires.")
    expiry_share: Duration = duration_field("1d", "A shared article not delivered by then expires.")
    expiry_test: Duration = duration_field("1h", "A test send not delivered by then expires.")
    expiry_reconfirm: Duration = duration_field(
        "3d", "A reconfirmation of advertising consent not delivered by then expires."
    )
    backoff_min: Duration = duration_field("1m", "First retry delay after a temporary failure.")
    backoff_max: Duration = duration_field("4h", "Longest retry delay (the delay grows ×4).")
    circuit_breaker_threshold: int = Field(
        default=5,
        ge=1,
        description="Policy/reputation replies (5.7.x, 4.7.x) among the last 50 that pause a run.",
    )
    lease_duration: Duration = duration_field(
        "15m", "How long a claimed row stays leased; keep it above smtp_data_timeout."
    )
    mark_batch_size: int = Field(
        default=50, ge=1, le=1000, description="Sent marks committed together (duplicate bound)."
    )
    db_thread_priority: DbPriority = Field(
        default="normal",
        description="The drain's database thread: normal, or background (Linux SCHED_IDLE: "
        "yields the CPU to sending and to a relay on the same machine; normal while it starves).",
    )
    shutdown_grace: Duration = duration_field(
        "30s", "On SIGTERM, how long in-flight messages may finish before being released."
    )


class DigestSettings(BaseModel):
    # --- digests ---
    postal_address: str = Field(
        default="", description="Sender's postal address, shown in every digest footer."
    )
    list_id_domain: str = Field(
        default="", description="Domain part of List-Id (from_address's domain if empty)."
    )
    unsubscribe_mailto: str = Field(
        default="", description="mailto: unsubscribe address (unsubscribe@ from's domain if empty)."
    )
    dkim_selector: str = Field(default="", description="DKIM selector; signing is off if empty.")
    dkim_domain: str = Field(default="", description="DKIM d= domain (from's domain if empty).")
    dkim_private_key_file: str = Field(
        default="", description="PEM file of the DKIM private key; signing is off if empty."
    )
    html_size_budget: int = Field(
        default=100_000, ge=10_000, description="Max inlined HTML bytes (Gmail clips ~102 KB)."
    )
