"""What a share may carry, through the form: invisible characters, emoji, placeholders, length."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.webkit import Web, message_of, outbox_rows, share_token

pytestmark = pytest.mark.asyncio

SENT = "메일을 보냈습니다"


def fields(token: str, **extra: Any) -> dict[str, Any]:
    return {"to": "friend@example.kr", "name": "김민수", "note": "", "form_token": token, **extra}


async def _post(web: Web, **extra: Any) -> Any:
    token = await share_token(web)
    return await web.client.post("/articles/a0001/share", data=fields(token, **extra))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("note", "evil\u034f.pw"),  # a browser's IDNA drops U+034F: evil.pw
        ("note", "http\u034f://evil\u034f.pw"),
        ("note", "javascript\u034f:alert(1)"),
        ("note", "1\u034f.2.3.4"),
        ("note", "evil.\ufe0fpw"),
        ("note", "evil\u180b.pw"),
        ("note", "evil.\U000e0100pw"),
        ("note", "evil\u0301.pw"),  # a combining mark on ASCII
        ("note", "नमस्ते.भारत"),
        ("name", "evil\u034f.pw"),
        ("name", "evil\u200b.pw"),
        ("to", "%%SHARE_NOTE_HTML%%@example.kr"),  # would be spliced again into To:
    ],
)
async def test_invisible_characters_do_not_smuggle_a_link(web: Web, field: str, value: str) -> None:
    r = await _post(web, **{field: value})
    assert r.status_code == 400
    assert f'id="{field}"' in r.text and 'aria-invalid="true"' in r.text
    assert outbox_rows(web.engine) == []


async def test_a_placeholder_in_a_note_is_refused_without_an_error_log(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        r = await _post(web, note="%%SHARE_BLOCK_URL%%" * 15)
    assert r.status_code == 400 and 'id="note"' in r.text
    assert [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR] == []
    assert outbox_rows(web.engine) == []


@pytest.mark.parametrize(
    ("note", "sent"),
    [
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # a family: emoji joined by ZWJ
        ("❤️ 🏳️\u200d🌈 1️⃣", "❤️ 🏳️\u200d🌈 1️⃣"),
        ("…" * 300, "..." * 300),  # 300 as typed, NFKC makes 900 characters
        ("ภาษาไทย ดีมาก", "ภาษาไทย ดีมาก"),
        ("Kim\u00adberly \u200bhi", "Kimberly hi"),  # ignorables removed, not refused
    ],
)
async def test_notes_people_write_are_sent(web: Web, note: str, sent: str) -> None:
    r = await _post(web, note=note)
    assert r.status_code == 200 and SENT in r.text, r.text
    [row] = outbox_rows(web.engine, "share")
    msg = message_of(web.engine, row)
    assert sent in msg.replace("\r\n  ", "")  # the text part, unfolded
    assert "%%" not in msg


async def test_a_name_counts_as_typed_and_loses_invisible_characters(web: Web) -> None:
    r = await _post(web, name="Kim\u200b Min\u00adsu", note="안녕")
    assert r.status_code == 200 and SENT in r.text
    [row] = outbox_rows(web.engine, "share")
    assert "Kim Minsu" in message_of(web.engine, row)


async def test_a_placeholder_past_the_form_check_is_never_queued(
    web: Web, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from publisher.readers import formcheck

    # As if the allow-list had a hole: the note reaches sharing.send with a placeholder in it.
    monkeypatch.setattr(formcheck, "plain_note", lambda raw, field="note": raw)
    with caplog.at_level(logging.ERROR):
        r = await _post(web, note="%%SHARE_BLOCK_URL%%" * 15)
    assert r.status_code == 400 and 'id="note"' in r.text
    assert outbox_rows(web.engine) == []
    assert any("holds a placeholder" in rec.getMessage() for rec in caplog.records)
