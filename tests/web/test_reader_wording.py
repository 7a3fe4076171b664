"""Issue 11.25: the words say what happened (Korean first, English too)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message

import pytest

from tests.webkit import Web, message_of, outbox_rows, share_token

pytestmark = pytest.mark.asyncio


def _parts(raw: str) -> dict[str, str]:
    msg = message_from_bytes(raw.encode("utf-8"))
    found: dict[str, str] = {}
    for part in msg.walk():
        if isinstance(part, Message) and not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode("utf-8")
    return found


async def test_unknown_article_says_not_found_not_expired(web: Web) -> None:
    r = await web.client.get("/articles/no-such-article/share")
    assert r.status_code == 404 and "기사를 찾을 수 없습니다" in r.text
    assert "기한이 지났습니다" not in r.text
    en = await web.client.get("/articles/no-such-article/share?lang=en")
    assert "Article not found" in en.text and "expired" not in en.text
    token = await share_token(web)
    form = {"to": "friend@example.kr", "name": "김민수", "note": "", "form_token": token}
    posted = await web.client.post("/articles/no-such-article/share", data=form)
    assert posted.status_code == 404 and "기사를 찾을 수 없습니다" in posted.text


@pytest.mark.parametrize(("lang", "button"), [("ko", "버튼"), ("en", "button")])
async def test_confirmation_text_part_mentions_no_button(web: Web, lang: str, button: str) -> None:
    r = await web.client.post(
        "/subscribe", data={"email": "reader@example.kr", "frequency": "daily", "lang": lang}
    )
    assert r.status_code == 200
    [row] = outbox_rows(web.engine, "confirm")
    parts = _parts(message_of(web.engine, row))
    text, html = parts["text/plain"], parts["text/html"]
    assert button not in text.lower()  # the text part has a link, no button
    assert "/confirm/" in text
    assert ("링크" if lang == "ko" else "link") in text
    assert 'class="button"' in html  # the HTML part keeps its button
