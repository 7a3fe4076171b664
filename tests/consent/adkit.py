"""Schedules with an advertising digest next to an editorial one, and their settings."""

from __future__ import annotations

from typing import Any

from publisher.core.config import Settings
from publisher.core.schedules import Schedules
from tests.digestkit import schedules

AD_SCHEDULES = """
timezone: Asia/Seoul
digests:
  - id: morning
    name: "아침 뉴스레터"
    cron: "0 7 * * *"
    subject: "{{ site_name }} 아침 브리핑"
    first_window: 24h
  - id: offers
    name: "제휴 소식"
    cron: "0 7 * * *"
    subject: "{{ site_name }} 제휴 소식"
    first_window: 24h
    advertising: true
"""


def ad_schedules() -> Schedules:
    return schedules(AD_SCHEDULES)


def ad_settings(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(
        update={"advertiser_name": "(주)한빛일보", "advertiser_contact": "02-123-4567",
                "postal_address": "서울특별시 중구 세종대로 1", **extra}
    )  # fmt: skip
