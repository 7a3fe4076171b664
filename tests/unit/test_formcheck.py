"""Names and notes are decided by allow-list after NFKC: the table of what passes and what not."""

from __future__ import annotations

import pytest

from publisher.readers.formcheck import InputError, person_name, plain_note

NOTES_ACCEPTED = [
    "이 기사 꼭 읽어보세요!",
    "See p. 3 — thanks",
    "3.5% growth",  # a number with a decimal point is not a host name
    "Great read. Thanks!",
    "e.g. the second chart, i.e. the one on U.S. exports",
    "Note: read the last part",
    "10:30에 회의 전에 보세요",
    "꼭 보세요 😀👍",
    "₩10,000 → ₩12,000 (20% 인상)",
    "A & B\n두 번째 줄 <3",
    "wait ... what?",
    "「경제」 섹션 기사입니다 — 김 기자",
    "Ph.D. 과정 얘기예요",
    "and/or",
    "x < y, y > z",
]

NOTES_REFUSED = [
    "evil.pw",
    "ｗｗｗ．ｅｖｉｌ．ｃｏｍ",  # full width, folded by NFKC
    "evil . com",
    "evil .com",
    "visit evil。com",  # an ideographic full stop is a dot to a browser
    "go to 192.168.0.1",
    "1 . 2 . 3 . 4",
    "javascript:alert(1)",
    "JavaScript : alert(1)",
    "http://x",
    "hxxp://evil",
    "mailto:x",
    "data:text/html,hi",
    "see [::1]",
    "뉴스.한국",
    "Thanks.See you",  # a missing space after a full stop looks like a domain: documented
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "</p>",
    "<!-- x -->",
    "me@example.kr",
    "back\\slash",
    "pipe | here",
    "`code`",
    "$(rm -rf)",
    "{{ 7*7 }}",
    "e" + "\u0301" * 5,  # stacked accents
    "가" * 301,
]


@pytest.mark.parametrize("note", NOTES_ACCEPTED)
def test_notes_people_write_pass(note: str) -> None:
    assert plain_note(note) == note


@pytest.mark.parametrize("note", NOTES_REFUSED)
def test_links_markup_and_odd_characters_are_refused(note: str) -> None:
    with pytest.raises(InputError) as err:
        plain_note(note)
    assert err.value.field == "note"


def test_notes_are_checked_and_sent_in_nfkc() -> None:
    assert plain_note("ＡＢＣ　가나다") == "ABC 가나다"  # full-width letters and space
    assert plain_note("  a  b \r\n\r\n\r\n\r\nc ") == "a b\n\nc"


@pytest.mark.parametrize(
    "name", ["김민수", "Kim Min-su", "O'Brien", "J. Kim", "Anne-Marie & Paul", "Ｋｉｍ"]
)
def test_names_people_have_pass(name: str) -> None:
    assert person_name(name, required=True)


@pytest.mark.parametrize(
    "name",
    ["evil.pw", "www．evil．com", "evil . com", "10.0.0.1", "javascript:x", "Kim!", "a@b",
     "김민수 😀", "Kim\nJ", "x" * 51],
)  # fmt: skip
def test_names_outside_the_allow_list_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        person_name(name, required=True)
