"""Settings of the inbound side of mail: where bounces go (VERP), where they are read from
(Maildir folders, IMAP mailboxes), what they do (bounce score, complaint rates), and the
sending services' webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from publisher.core.fieldchecks import Duration, duration_field, email_address

INBOUND_SOURCE_NAME = r"^[a-z0-9][a-z0-9-]*$"


class _InboundBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(
        pattern=INBOUND_SOURCE_NAME, max_length=64, description="Unique name, shown by status."
    )
    unmatched_folder: str = Field(
        default="unmatched",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Folder (Maildir sub-folder or IMAP mailbox) for what was not understood.",
    )


class MaildirInbound(_InboundBase):
    """A Maildir the local MTA delivers bounces and unsubscribe mail into."""

    kind: Literal["maildir"]
    path: Path = Field(description="The Maildir (with cur/, new/, tmp/).")


class ImapInbound(_InboundBase):
    """An IMAP mailbox, read over TLS (implicit on 993, or STARTTLS)."""

    kind: Literal["imap"]
    host: str = Field(min_length=1, description="IMAP server host name.")
    port: int = Field(default=993, ge=1, le=65535, description="IMAP port.")
    username: str = Field(min_length=1, description="Login name.")
    password: str = Field(default="", description="Password (keep publisher.toml private).")
    folder: str = Field(default="INBOX", description="Mailbox to read.")
    starttls: bool = Field(default=False, description="Plain connection upgraded by STARTTLS.")
    ca_file: str = Field(
        default="", description="PEM file of the CA to trust (empty: the system's)."
    )


InboundSourceConfig = Annotated[MaildirInbound | ImapInbound, Field(discriminator="kind")]


class InboundSettings(BaseModel):
    # --- inbound ---
    bounce_address: str = Field(
        default="",
        description="Envelope sender base (LOCAL+TOKEN@DOMAIN); delivery_return_path or "
        "from_address if empty.",
    )
    inbound_sources: list[InboundSourceConfig] = Field(
        default=[], description="Where bounces and emailed unsubscribes are read (maildir, imap)."
    )
    inbound_unmatched_dir: Path = Field(
        default=Path("var/inbound-unmatched"),
        description="Maildir keeping what `inbound process` (files, stdin) did not understand.",
    )
    inbound_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest inbound message read; a bigger one is kept as unmatched, unread.",
    )
    bounce_score_threshold: int = Field(
        default=5, ge=1, description="Soft bounces within bounce_score_window that suppress."
    )
    bounce_score_window: Duration = duration_field(
        "7d", "Soft bounces older than this no longer count."
    )
    complaint_warning_rate: float = Field(
        default=0.001, ge=0, le=1, description="Complaint rate of a run that logs a warning."
    )
    complaint_hold_rate: float = Field(
        default=0.003, ge=0, le=1, description="Complaint rate of a run that holds its digest."
    )
    webhook_tolerance: Duration = duration_field(
        "5m", "How far a webhook's signed time may be from now (replays are refused)."
    )
    webhook_max_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest webhook body accepted."
    )
    ses_topic_arns: list[str] = Field(
        default=[], description="SNS topics whose SES notifications are accepted (empty: off)."
    )
    sendgrid_public_key: str = Field(
        default="",
        description="SendGrid's event webhook verification key (base64 DER; off if empty).",
    )
    postmark_webhook_secret: str = Field(
        default="", description="user:password Postmark sends as basic auth (off if empty)."
    )
    mailgun_signing_key: str = Field(
        default="", description="Mailgun's webhook signing key (off if empty)."
    )

    _bounce = field_validator("bounce_address")(email_address)

    @field_validator("inbound_sources")
    @classmethod
    def _unique_inbound_names(cls, value: list[InboundSourceConfig]) -> list[InboundSourceConfig]:
        seen: set[str] = set()
        for i, source in enumerate(value):
            if source.name in seen:
                raise ValueError(f"[{i}]: duplicate inbound source name {source.name!r}")
            seen.add(source.name)
        return value
