"""Headless Chromium (Debian's /usr/bin/chromium) drives the real pages over real HTTP.

Subscribe → the confirmation in the outbox → open its link → press confirm; change the
preferences → unsubscribe; share an article through the form → the email is enqueued.
Screenshots of every page land in the test's tmp dir (and are worth a look).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from publisher.core import tokens
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.daemonkit import wait_for
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import message_of, outbox_rows, subscriber_status, web_settings
from tests.webserver import bind_loopback, serve

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)",
    ),
]
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Live:
    base: str
    settings: Settings
    engine: Engine
    clock: FixedClock
    shots: Path


@pytest.fixture
def live(settings: Settings, engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[Live]:
    load_store(engine)
    clock.set(NOW)
    sock = bind_loopback()
    port = sock.getsockname()[1]
    s = web_settings(settings, public_base_url=f"http://127.0.0.1:{port}")
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with serve(create_app(s, context=ctx), sock) as base:
        yield Live(base, s, engine, clock, shots)


@pytest.fixture
def page(live: Live, tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=ARGS,
            headless=True, viewport={"width": 390, "height": 844}, locale="ko-KR",
        )  # fmt: skip
        try:
            yield browser.new_page()
        finally:
            browser.close()


def shot(p: Page, live: Live, name: str) -> None:
    p.screenshot(path=str(live.shots / f"{name}.png"), full_page=True)


def test_subscribe_confirm_preferences_unsubscribe(live: Live, page: Page) -> None:
    p = page
    p.goto(f"{live.base}/subscribe")
    shot(p, live, "01-subscribe")
    p.get_by_label("이메일 주소").fill("browser@example.kr")
    p.get_by_label("이름 (선택)").fill("브라우저")
    p.get_by_label("정치").check()
    p.get_by_label("경제").check()
    p.get_by_label("매주").check()
    p.get_by_role("button", name="구독 신청").click()
    p.get_by_text("메일함을 확인해 주세요").wait_for()
    shot(p, live, "02-subscribed")
    # The answer comes first; the confirmation is queued right after it.
    wait_for(lambda: outbox_rows(live.engine, "confirm"), seconds=10, what="a confirmation")
    assert subscriber_status(live.engine, "browser@example.kr") == "pending"

    [row] = outbox_rows(live.engine, "confirm")
    found = re.search(
        re.escape(live.base) + r"/confirm/[A-Za-z0-9._-]+", message_of(live.engine, row)
    )
    assert found
    p.goto(found.group(0))
    shot(p, live, "03-confirm")
    assert subscriber_status(live.engine, "browser@example.kr") == "pending"  # GET: no change
    p.get_by_role("button", name="구독 확인하기").click()
    p.get_by_text("구독이 확인되었습니다").wait_for()
    shot(p, live, "04-confirmed")
    assert subscriber_status(live.engine, "browser@example.kr") == "confirmed"

    sid = int(row["dedupe_key"].split(":")[1])
    prefs = tokens.make(live.settings.secret_key, "preferences", (sid,), now=live.clock.now())
    p.goto(f"{live.base}/preferences/{prefs}")
    shot(p, live, "05-preferences")
    assert p.get_by_label("정치").is_checked()
    p.get_by_label("정치").uncheck()
    p.get_by_label("국제").check()
    p.get_by_label("매일").check()
    p.get_by_role("button", name="저장").click()
    p.get_by_text("설정을 저장했습니다").wait_for()
    shot(p, live, "06-saved")
    assert p.get_by_label("국제").is_checked() and not p.get_by_label("정치").is_checked()
    p.get_by_role("button", name="구독 해지하기").click()
    p.get_by_text("구독이 해지되었습니다").wait_for()
    shot(p, live, "07-unsubscribed")
    assert subscriber_status(live.engine, "browser@example.kr") == "unsubscribed"

    p.goto(f"{live.base}/preferences/{prefs}")  # the page now says so, and offers to come back
    p.get_by_text("구독이 해지된 상태입니다").wait_for()
    assert p.get_by_role("button", name="다시 구독하기").is_visible()
    shot(p, live, "07b-preferences-unsubscribed")
    p.get_by_role("button", name="내 정보 삭제").click()  # only asks
    p.get_by_text("되돌릴 수 없습니다", exact=False).wait_for()
    shot(p, live, "07c-delete-confirm")
    assert subscriber_status(live.engine, "browser@example.kr") == "unsubscribed"
    p.get_by_role("button", name="삭제하기").click()
    p.get_by_text("정보를 삭제했습니다").wait_for()
    assert subscriber_status(live.engine, "browser@example.kr") is None


def test_share_an_article(live: Live, page: Page) -> None:
    p = page
    p.goto(f"{live.base}/articles/a0001/share")
    shot(p, live, "08-share")
    p.get_by_label("받는 사람 이메일").fill("friend@example.kr")
    p.get_by_label("보내는 사람 이름").fill("김민수")
    p.get_by_label("메시지", exact=False).fill("이 기사 읽어 보세요.\n<b>진짜</b> 좋아요")
    p.get_by_role("button", name="메일 보내기").click()
    p.get_by_text("입력을 확인해 주세요", exact=False).or_(p.get_by_role("alert")).wait_for()
    shot(p, live, "09-share-refused")  # too fast, and markup in the note
    assert outbox_rows(live.engine, "share") == []
    p.get_by_label("메시지", exact=False).fill("이 기사 읽어 보세요.")
    live.clock.advance(timedelta(seconds=10))  # a reader takes a few seconds
    p.get_by_role("button", name="메일 보내기").click()
    p.get_by_text("메일을 보냈습니다").first.wait_for()
    shot(p, live, "10-shared")
    [row] = outbox_rows(live.engine, "share")
    assert row["recipient"] == "friend@example.kr"
    assert "김민수님이 한빛일보의 기사를 공유했습니다" in message_of(live.engine, row)
