"""A share note can never make a line over 998 bytes: sent through the form, drained to aiosmtpd.

aiosmtpd answers ``500 Line too long`` like a real relay, so a broken message shows as a failed
row rather than passing unnoticed.
"""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email.message import Message
from html import unescape

import pytest

from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from tests.smtpserver import SmtpServer
from tests.webkit import Web, outbox_rows, share_token

pytestmark = pytest.mark.asyncio

NOTES = [
    "&" * 300,
    "가" * 300,
    "한국어로 길게 쓴 메모 " * 22 + "끝",
    "😀" * 300,  # 4 bytes each
    ("A&B<3 " * 50).strip(),
    "첫 줄\n" + "&<" * 100 + "\n마지막 줄 " + "나" * 80,
]


async def _drain(web: Web, server: SmtpServer) -> None:
    mailer = Mailer(server.url, pool_size=1, connect_timeout=5, command_timeout=5, data_timeout=10)
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=1, mark_batch=10, breaker_threshold=5,
        grace=timedelta(seconds=5),
    )  # fmt: skip
    report = await Drain(web.engine, mailer, web.clock, config=config).run()
    assert report.ok, report


def _parts(data: bytes) -> dict[str, str]:
    msg = email.message_from_bytes(data)
    out: dict[str, str] = {}
    for part in msg.walk():
        if isinstance(part, Message) and not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_subtype()] = payload.decode("utf-8")
    return out


def _html_note(html: str) -> str:
    """The note as a reader sees it: markup and comments gone, entities decoded."""
    found = re.search(r'<p class="note"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no note paragraph"
    inner = re.sub(r"<!--.*?-->", "", found.group(1), flags=re.S)
    inner = re.sub(r"<br>\s*", "\n", inner)
    return unescape(re.sub(r"<[^>]+>", "", inner)).replace("\r\n", " ")


def _text_note(text: str) -> list[str]:
    """The note's lines in the text part (indented by two spaces under the label)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("  ")) if lines else 0
    out = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        out.append(line[2:].rstrip("\r"))
    return out


@pytest.mark.parametrize("note", NOTES, ids=range(len(NOTES)))
async def test_long_notes_arrive_whole_with_short_lines(web: Web, note: str) -> None:
    server = await SmtpServer().start()
    try:
        token = await share_token(web)
        r = await web.client.post(
            "/articles/a0001/share",
            data={"to": "friend@example.kr", "name": "김&민수", "note": note, "form_token": token},
        )
        assert r.status_code == 200, r.text
        await _drain(web, server)
    finally:
        await server.stop()
    assert [row["status"] for row in outbox_rows(web.engine, "share")] == ["sent"]
    [(rcpt, data)] = server.record.messages
    assert rcpt == "friend@example.kr"
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    parts = _parts(data)
    assert _html_note(parts["html"]) == note
    assert "김&amp;민수님이" in parts["html"]
    # The text part folds long lines at 72 columns: joined again, the note is the same text.
    text_lines = _text_note(parts["plain"])
    assert "".join(text_lines).replace(" ", "") == note.replace("\n", "").replace(" ", "")


async def test_a_message_that_would_not_fit_is_refused_not_queued(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.readers import sharing

    # As if folding had a bug: the note escaped on one line, 1,500 bytes long.
    monkeypatch.setattr(sharing, "fold_html", lambda text: text.replace("&", "&amp;"))
    token = await share_token(web)
    r = await web.client.post(
        "/articles/a0001/share",
        data={"to": "friend@example.kr", "name": "김민수", "note": "&" * 300, "form_token": token},
    )
    assert r.status_code == 400 and 'id="note"' in r.text
    assert outbox_rows(web.engine) == []
