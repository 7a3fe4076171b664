"""The digest email on a 375 px phone in headless Chromium: Korean headlines break between words.

Hangul breaks between any two syllables by default, so "예비타당성조사" could end one line
as "예비타당" and start the next with "성조사". The email's CSS asks for ``keep-all`` (and
``overflow-wrap: anywhere`` for a token longer than a line), like the web pages. The test
measures every headline word with a DOM Range: a word whose boxes sit on two lines is split.
"""

from __future__ import annotations

import email
import json
from dataclasses import replace
from email.message import Message
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, select

from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.messages.enqueue import fill
from publisher.store import articles as store_articles
from publisher.store.schema import contents, outbox
from tests.digestkit import DUE, NOW, add_subscriber, load_store, schedules
from tests.web.test_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

TITLES = [
    "수도권광역급행철도 연장 노선, 국토교통부가 다음달 예비타당성조사 결과 발표",
    "한국은행 기준금리 동결에도 가계부채 증가세 여전… 금융당국 대출규제 강화 검토",
    "반도체 수출 회복세 뚜렷, 전년동월대비 두자릿수 증가율 기록했다고 산업통상자원부 밝혀",
    "지방자치단체 재정자립도 양극화 심화, 행정안전부 지방교부세 개편안 마련 착수",
]

# Words of each headline whose boxes (one per line fragment) sit on more than one line.
SPLIT_WORDS = """
() => {
  const split = [];
  for (const a of document.querySelectorAll('h2 a, td a')) {
    const node = a.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) continue;
    const text = node.textContent;
    const re = /\\S+/g;
    let m;
    while ((m = re.exec(text)) !== null) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0]);
    }
  }
  return split;
}
"""


def _digest_html(engine: Engine, settings: Settings) -> str:
    made = load_store(engine)
    retitled = [replace(a, title=TITLES[i % len(TITLES)]) for i, a in enumerate(made)]
    with engine.begin() as conn:
        store_articles.upsert_articles(conn, retitled, now=DUE)
    add_subscriber(engine, "minsu.kim@example.kr", name="김민수")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.status == "enqueued", result
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
        body = conn.execute(select(contents.c.body).where(contents.c.id == row.content_id))
        data = fill(bytes(body.scalar_one()), json.loads(row.substitutions), row.message_id)
    msg = email.message_from_bytes(data)
    for part in msg.walk():
        if isinstance(part, Message) and part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("no HTML part")


def test_korean_headlines_do_not_break_mid_word_at_375px(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    html = _digest_html(engine, settings)
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=ARGS,
            headless=True, viewport={"width": 375, "height": 812}, locale="ko-KR",
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort())  # images: nothing is fetched
            page.set_content(html, wait_until="domcontentloaded")
            page.screenshot(path=str(tmp_path / "digest-375.png"), full_page=True)
            lines = page.evaluate(
                "() => [...document.querySelectorAll('h2 a')].map(a => a.getClientRects().length)"
            )
            split = page.evaluate(SPLIT_WORDS)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
        finally:
            browser.close()
    assert max(lines) > 1, "the headlines must wrap at 375 px for the test to mean anything"
    assert split == [], f"headline words split across lines: {split}"
    assert overflow <= 0, f"the digest is {overflow} px wider than a 375 px screen"
