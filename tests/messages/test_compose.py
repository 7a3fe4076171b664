"""The message: headers valid per the email parser, placeholders intact, personalising cheap."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from publisher.messages.enqueue import fill as personalise
from publisher.messages.mime import (
    PREFERENCES_URL,
    TO,
    UNSUBSCRIBE_MAILTO,
    UNSUBSCRIBE_URL,
    ListInfo,
    Sender,
    address,
    compose,
)
from publisher.render.templates import RenderedEmail

IDN = "한빛일보.kr".encode("idna").decode("ascii")
DATE = datetime(2026, 11, 23, 22, 0, 30, tzinfo=UTC)
LONG_SUBJECT = (
    "한빛일보 아침 브리핑 2026년 11월 24일 (화): 정부 내년 예산안 역대 최대 편성, "
    "국회 본회의 통과 여부 주목… 여야 원내대표 오늘 회동"
)
SUBS = {
    TO: address("김민수", "minsu@한빛일보.kr"),
    UNSUBSCRIBE_URL: "https://news.example.kr/u/WzQyXQ.aBcD.efGh-ij_KL",
    UNSUBSCRIBE_MAILTO: "unsubscribe@news.example.kr?subject=unsubscribe%20WzQyXQ.aBcD",
    PREFERENCES_URL: "https://news.example.kr/preferences/WzQyXQ.zzz",
}


def _rendered(links: dict[str, str]) -> RenderedEmail:
    html = (
        "<!DOCTYPE html>\n<html><body><p>정부 예산안 기사 본문</p>"
        f'<a href="{links["unsub"]}">구독 해지</a> <a href="{links["prefs"]}">설정</a>\n'
        + ("<p>" + "가나다라마바사 " * 40 + "</p>\n") * 3
        + "</body></html>"
    )
    text = f"정부 예산안 기사 본문\n구독 해지: {links['unsub']}\n설정: {links['prefs']}\n"
    return RenderedEmail(subject=LONG_SUBJECT, html=html, text=text)


def _build(rendered: RenderedEmail) -> bytes:
    return compose(
        rendered=rendered,
        sender=Sender("한빛일보 뉴스레터", "news@한빛일보.kr", reply_to="desk@news.example.kr"),
        date=DATE,
        list_info=ListInfo(name="아침 뉴스레터", list_id="morning.news.example.kr"),
    )


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_every_header_present_and_valid() -> None:
    template = _build(_rendered({"unsub": UNSUBSCRIBE_URL, "prefs": PREFERENCES_URL}))
    raw = personalise(template, SUBS, "<0123abcd@xn--hq1bm8jm9l1xc.kr>")
    msg = _parse(raw)
    assert msg.defects == []
    assert str(msg["Subject"]) == LONG_SUBJECT
    frm = msg["From"].addresses[0]
    assert (frm.display_name, frm.addr_spec) == ("한빛일보 뉴스레터", "news@" + IDN)
    to = msg["To"].addresses[0]
    assert (to.display_name, to.addr_spec) == ("김민수", "minsu@" + IDN)
    assert parsedate_to_datetime(str(msg["Date"])) == DATE
    assert re.fullmatch(r"<[0-9a-f]+@[a-z0-9.-]+>", str(msg["Message-ID"]))
    assert str(msg["List-Id"]).endswith("<morning.news.example.kr>")
    assert str(msg["List-Unsubscribe"]) == (
        f"<{SUBS[UNSUBSCRIBE_URL]}>, <mailto:{SUBS[UNSUBSCRIBE_MAILTO]}>"
    )
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)


def test_no_encoded_words_inside_addresses_and_headers_fold() -> None:
    raw = _build(_rendered({"unsub": UNSUBSCRIBE_URL, "prefs": PREFERENCES_URL}))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"?=@" not in head  # the CPython 3.11 bug: an encoded-word as the local part/domain
    for line in head.split(b"\r\n"):
        assert len(line) <= 78, line
    subject_lines = [ln for ln in head.split(b"\r\n") if ln.startswith((b"Subject:", b" =?"))]
    assert len(subject_lines) >= 3  # a long Korean subject is folded into several words


def test_every_part_decodes_back_after_personalising() -> None:
    real = {"unsub": SUBS[UNSUBSCRIBE_URL], "prefs": SUBS[PREFERENCES_URL]}
    expected = _rendered(real)
    raw = personalise(
        _build(_rendered({"unsub": UNSUBSCRIBE_URL, "prefs": PREFERENCES_URL})), SUBS, "<x@y.kr>"
    )
    parts = list(_parse(raw).iter_parts())
    text = str(parts[0].get_content()).replace("\r\n", "\n")
    html = str(parts[1].get_content()).replace("\r\n", "\n")
    assert text == expected.text
    assert html.rstrip("\n") == expected.html
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998


def test_personalising_is_cheap() -> None:
    body = _build(_rendered({"unsub": UNSUBSCRIBE_URL, "prefs": PREFERENCES_URL}))
    body = body.replace(b"</body>", b"<p>" + "뉴스 ".encode() * 12000 + b"</p>\r\n</body>")
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(200):
            personalise(body, SUBS, "<x@y.kr>")
        runs.append((time.perf_counter() - start) / 200)
    # The bench holds the 100 µs target; here a margin for a busy machine.
    assert sorted(runs)[3] < 300e-6


def test_ascii_names_are_atoms_or_quoted() -> None:
    assert address("", "a@example.kr") == "a@example.kr"
    assert address("Kim Minsu", "a@example.kr") == "Kim Minsu <a@example.kr>"
    assert address('Kim, "MS"', "a@example.kr") == '"Kim, \\"MS\\"" <a@example.kr>'


def test_a_placeholder_typed_into_a_value_stays_literal() -> None:
    """A reader's text is never searched for placeholders again (one-pass fill)."""
    from publisher.messages.enqueue import fill

    template = b"To: %%TO%%\r\n\r\nnote: %%NOTE%%\r\nend %%TO%%\r\n"
    out = fill(template, {"%%NOTE%%": "see\r\n%%TO%%", "%%TO%%": "a@example.kr"}, "<m@x>")
    assert out == b"To: a@example.kr\r\n\r\nnote: see\r\n%%TO%%\r\nend a@example.kr\r\n"
