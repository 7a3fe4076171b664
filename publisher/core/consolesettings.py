"""Settings of the operators' console (/admin/): sessions, sign-in limits, invitations."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConsoleSettings(BaseModel):
    # --- console ---
    console_idle_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60,
        description="A console session ends after this many minutes without a request.",
    )  # fmt: skip
    console_invite_hours: int = Field(
        default=24, ge=1, le=24 * 14,
        description="How long a sign-in link from `publisher users add` stays valid.",
    )  # fmt: skip
    console_signin_per_account: int = Field(
        default=5, ge=1,
        description="Failed and successful sign-ins per account per console_signin_window.",
    )  # fmt: skip
    console_signin_per_ip: int = Field(
        default=20, ge=1, description="Sign-in attempts per client IP per console_signin_window."
    )
    console_signin_window_minutes: int = Field(
        default=15, ge=1, description="The window (minutes) the sign-in limits count in."
    )
    console_rollup_minutes: int = Field(
        default=5, ge=1, le=24 * 60,
        description="How often the daemon folds the outbox and subscribers into daily counts.",
    )  # fmt: skip
