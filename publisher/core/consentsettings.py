"""Settings of the consent log and the Korean anti-spam rules (정보통신망법 제50조)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from publisher.core.fieldchecks import Duration, duration_field

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class ConsentSettings(BaseModel):
    # --- consent and advertising mail ---
    consent_text_version: str = Field(
        default="1", min_length=1, max_length=40,
        description="Version of the consent text the subscribe page shows (kept in the log).",
    )  # fmt: skip
    consent_text: str = Field(
        default="", max_length=2000,
        description="Consent text shown on the subscribe page (empty: the built-in one).",
    )  # fmt: skip
    advertiser_name: str = Field(
        default="", max_length=200,
        description="Sender name in advertising mail (empty: from_name, else site_name).",
    )  # fmt: skip
    advertiser_contact: str = Field(
        default="", max_length=300,
        description="Sender contact (address, phone or e-mail) in advertising mail.",
    )  # fmt: skip
    quiet_hours: str = Field(
        default="21:00-08:00",
        description="HH:MM-HH:MM when advertising mail is held in the outbox (empty: none).",
    )
    quiet_hours_timezone: str = Field(default="Asia/Seoul", description="Time zone of quiet_hours.")
    reconfirm_after: Duration = duration_field(
        "730d", "Advertising consent older than this is asked to be reconfirmed."
    )
    reconfirm_grace: Duration = duration_field(
        "30d", "Without an answer this long after the ask, advertising mail stops."
    )

    @field_validator("quiet_hours_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        if value and not _WINDOW.match(value):
            raise ValueError(f"must be HH:MM-HH:MM or empty, got {value!r}")
        return value
