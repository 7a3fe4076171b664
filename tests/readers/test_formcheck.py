"""Names and notes are decided by allow-list after NFKC: the table of what passes and what not."""

from __future__ import annotations

import pytest

from publisher.readers.formcheck import InputError, person_name, plain_note, single_address

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
    "👨\u200d👩\u200d👧 가족 사진",  # a zero-width joiner inside an emoji sequence
    "❤️ 🏳️\u200d🌈 👩🏽\u200d💻 🏃\u200d♀️ 1️⃣ #️⃣",  # variation selectors, keycaps
    "ภาษาไทย ดีมาก",  # Thai vowel and tone marks on Thai letters
    "नमस्ते दोस्त",  # Devanagari signs on Devanagari letters
    "ẹ́ ọ̀ Yoruba",  # a tone mark on a Latin letter that is not ASCII
    "שָׁלוֹם",
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
    # Invisible Default_Ignorable characters a browser's IDNA drops: evil͏.pw opens evil.pw
    "evil\u034f.pw",
    "http\u034f://evil\u034f.pw",
    "javascript\u034f:alert(1)",
    "1\u034f.2.3.4",
    "evil.\ufe0fpw",
    "evil\u180b.pw",
    "evil.\U000e0100pw",
    "evil\u00ad.pw",
    "evil\u200b.pw",
    "evil\u2060.pw",
    "evil\u3164.pw",
    "evil\u200d.pw",  # a joiner outside an emoji sequence
    "😀\u200d.pw",  # an emoji host name (i❤.ws) is a host name too
    "i❤.ws",
    "evil\u2800.pw",  # a Braille blank reads as a space
    # Combining marks only on letters of scripts that use them
    "evil\u0301.pw",  # after ASCII: a homograph host name
    "1\u0301.2.3.4",
    "가\u0301 나",  # Hangul needs no marks after NFKC
    "a, \u0301b",  # after punctuation or a space
    "नमस्ते.भारत",  # an IDN: the marks no longer hide the dot
    "%%SHARE_BLOCK_URL%%",  # a placeholder of the stored message
    "\ufdfa" * 300,  # 300 characters as typed, 5,400 after NFKC: over the byte cap
]


@pytest.mark.parametrize("note", NOTES_ACCEPTED)
def test_notes_people_write_pass(note: str) -> None:
    assert plain_note(note) == note


@pytest.mark.parametrize("note", NOTES_REFUSED)
def test_links_markup_and_odd_characters_are_refused(note: str) -> None:
    with pytest.raises(InputError) as err:
        plain_note(note)
    assert err.value.field == "note"


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("Kim\u00adberly", "Kimberly"),  # a soft hyphen
        ("a\u200bb \u202eright", "ab right"),  # zero width space, bidi override
        ("😀\u200d", "😀"),  # a joiner with nothing to join
        ("…" * 300, "..." * 300),  # 300 characters as typed, 900 after NFKC
        ("\u200b" * 400 + "hi", "hi"),  # ignorables are not counted
    ],
)
def test_ignorables_are_removed_and_length_is_counted_as_typed(typed: str, sent: str) -> None:
    assert plain_note(typed) == sent


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
     "김민수 😀", "Kim\nJ", "x" * 51, "evil\u034f.pw", "evil\u0301.pw", "evil.\ufe0fpw",
     "\ufdfa" * 20, "%%SHARE_NOTE%%", "\u200b"],
)  # fmt: skip
def test_names_outside_the_allow_list_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        person_name(name, required=True)


def test_names_lose_ignorables_and_count_as_typed() -> None:
    assert person_name("Kim\u200bMin\u00ad-su", required=True) == "KimMin-su"
    assert person_name("…" * 50, required=True) == "..." * 50
    assert person_name("\u200b\u3164", required=False) == ""


@pytest.mark.parametrize(
    "address", ["%%SHARE_NOTE_HTML%%@example.kr", "a%%MESSAGE_ID%%b@example.kr"]
)
def test_an_address_cannot_carry_a_placeholder(address: str) -> None:
    with pytest.raises(InputError):
        single_address(address)


def test_an_address_keeps_refusing_invisible_characters() -> None:
    with pytest.raises(InputError):
        single_address("friend\u200d@example.kr")
