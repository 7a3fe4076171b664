"""An advertising digest: "(광고)", the sender and 수신거부 notice, held through quiet hours
and delivered to a real SMTP server only when the window opens (injected clock)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.consent.advertising import QuietHours
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from publisher.digests import pipeline
from tests.consent.adkit import ad_schedules, ad_settings
from tests.digestkit import NOW, add_subscriber, load_store
from tests.smtpserver import SmtpServer
from tests.webkit import outbox_rows

SEOUL_8 = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 08:00 on 24 November in Seoul


@pytest_asyncio.fixture
async def smtpd() -> AsyncIterator[SmtpServer]:
    server = await SmtpServer().start()
    yield server
    await server.stop()


def _drain(engine: Engine, clock: FixedClock, port: int) -> Drain:
    mailer = Mailer(f"smtp://127.0.0.1:{port}", pool_size=1, connect_timeout=5,
                    command_timeout=5, data_timeout=10)  # fmt: skip
    config = DeliverConfig(sender="bounces@news.example.kr", pool_size=1, mark_batch=10,
                           breaker_threshold=5, grace=timedelta(seconds=5))  # fmt: skip
    return Drain(engine, mailer, clock, config=config)


@pytest.mark.asyncio
async def test_advertising_digest_waits_for_quiet_hours_then_carries_the_notice(
    settings: Settings, engine: Engine, clock: FixedClock, smtpd: SmtpServer
) -> None:
    load_store(engine)
    add_subscriber(engine, "reader@example.kr")
    s, plan = ad_settings(settings), ad_schedules()
    # 07:00:30 in Seoul: both digests run; only the advertising one is in the quiet hours.
    for digest_id in ("morning", "offers"):
        assert pipeline.run_digest(engine, s, plan, digest_id, now=NOW).enqueued == 1
    held = [r for r in outbox_rows(engine) if r["next_attempt_at"] > NOW]
    assert len(held) == 1 and held[0]["next_attempt_at"] == SEOUL_8
    assert held[0]["expires_at"] == SEOUL_8 + s.expiry_digest  # the wait never expires it
    clock.set(NOW)
    await _drain(engine, clock, smtpd.port).run(until_empty=True)
    [(_, first)] = smtpd.record.messages  # the editorial digest only
    assert "(광고)" not in str(
        email.message_from_bytes(first, policy=email.policy.default)["Subject"]
    )
    clock.set(SEOUL_8 - timedelta(minutes=1))  # 07:59: still held
    await _drain(engine, clock, smtpd.port).run(until_empty=True)
    assert len(smtpd.record.messages) == 1
    clock.set(SEOUL_8 + timedelta(seconds=1))  # the window opened
    await _drain(engine, clock, smtpd.port).run(until_empty=True)
    assert len(smtpd.record.messages) == 2
    ad = email.message_from_bytes(smtpd.record.messages[1][1], policy=email.policy.default)
    assert str(ad["Subject"]).startswith("(광고) 한빛일보 제휴 소식")
    text = ad.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = ad.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for body in (text, page):
        assert "(주)한빛일보" in body and "02-123-4567" in body and "수신거부" in body
        assert "https://news.example.kr/newsletter/u/" in body  # the reader's own link
    assert {r["status"] for r in outbox_rows(engine)} == {"sent"}


@pytest.mark.parametrize(
    ("local", "opens"),
    [
        ("2026-11-24T22:30", "2026-11-25T08:00"),  # evening: the next morning
        ("2026-11-24T07:59", "2026-11-24T08:00"),
        ("2026-11-24T08:00", None),
        ("2026-11-24T20:59", None),
        ("2026-11-24T21:00", "2026-11-25T08:00"),
    ],
)
def test_quiet_hours_window(settings: Settings, local: str, opens: str | None) -> None:
    quiet = QuietHours.from_settings(settings)
    assert quiet is not None
    at = datetime.fromisoformat(local).replace(tzinfo=quiet.tz)
    found = quiet.opens_at(at.astimezone(UTC))
    want = None if opens is None else datetime.fromisoformat(opens).replace(tzinfo=quiet.tz)
    assert found == want


def test_no_quiet_hours_sends_at_once(settings: Settings) -> None:
    assert QuietHours.from_settings(settings.model_copy(update={"quiet_hours": ""})) is None


def test_a_long_korean_sender_name_still_fits_the_line_limit(
    settings: Settings, engine: Engine
) -> None:
    load_store(engine)
    add_subscriber(engine, "reader@example.kr")
    s = ad_settings(settings, advertiser_name="가" * 200, advertiser_contact="나" * 300)
    result = pipeline.run_digest(engine, s, ad_schedules(), "offers", now=NOW)
    assert result.enqueued == 1  # composed: every line within 998 bytes


@pytest.mark.parametrize(
    ("key", "value"), [("quiet_hours", "9pm-8am"), ("quiet_hours_timezone", "Mars/Olympus")]
)
def test_bad_quiet_hours_settings_are_refused(settings: Settings, key: str, value: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=key):
        Settings.model_validate({**settings.model_dump(), key: value})


def test_the_run_history_shows_the_subject_as_sent(settings: Settings, engine: Engine) -> None:
    """History, the click report and the console read the run's stored subject: it carries
    "(광고)" as the sent message does."""
    from publisher.digests.runs import list_runs

    load_store(engine)
    add_subscriber(engine, "reader@example.kr")
    pipeline.run_digest(engine, ad_settings(settings), ad_schedules(), "offers", now=NOW)
    (run,) = list_runs(engine, "offers")
    assert run.subject.startswith("(광고) ")
