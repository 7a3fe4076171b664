"""Settings of breaking-news alerts (속보): how many a day, and how long one may wait."""

from __future__ import annotations

from pydantic import BaseModel, Field

from publisher.core.fieldchecks import Duration, duration_field


class AlertSettings(BaseModel):
    # --- alerts ---
    alerts_per_day: int = Field(
        default=3,
        ge=0,
        le=50,
        description="Breaking-news alerts at most per calendar day in the site timezone (0: none).",
    )
    alert_expiry: Duration = duration_field(
        "2h", "An alert not delivered by then is dropped (expired), never sent late."
    )
    alerts_advertising: bool = Field(
        default=False,
        description="Alerts are advertising (정보통신망법 제50조): '(광고)', sender and notice, "
        "quiet hours, and only readers whose advertising consent has not lapsed.",
    )
