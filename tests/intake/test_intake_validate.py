"""validate_article: every bad field gets a clear error naming it; good input is normalised."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.core.models import Article
from publisher.intake.validate import (
    MAX_BODY_BYTES,
    MAX_TAGS,
    MAX_TITLE,
    FieldError,
    validate_article,
)

SEOUL = ZoneInfo("Asia/Seoul")


def good(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "20261123-0001",
        "url": "https://news.example.kr/articles/20261123-0001",
        "title": "한파주의보 발령",
        "published_at": "2026-11-23T09:30:00+09:00",
        "section": "society",
        "section_name": "사회",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def ok(obj: object) -> Article:
    result = validate_article(obj, tz=SEOUL)
    assert isinstance(result, Article), result
    return result


def errors(obj: object) -> dict[str, str]:
    result = validate_article(obj, tz=SEOUL)
    assert isinstance(result, list), f"expected errors, got {result!r}"
    return {e.field: e.reason for e in result}


def test_a_good_article_is_normalised() -> None:
    a = ok(good(title="  한파\n주의보  ", tags=["날씨", "날씨", " 한파 "], extra="ignored"))
    assert a.external_id == "20261123-0001"
    assert a.title == "한파 주의보"
    assert a.tags == ("날씨", "한파")
    assert a.published_at == datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    assert a.updated_at == a.published_at
    assert a.status == "published"


@pytest.mark.parametrize("name", ["id", "url", "title", "published_at"])
def test_missing_required_field(name: str) -> None:
    assert errors(good(**{name: ...})) == {name: "is required"}


@pytest.mark.parametrize("name", ["id", "url", "title", "published_at"])
def test_empty_required_field(name: str) -> None:
    assert errors(good(**{name: "   "})) == {name: "must not be empty"}


def test_all_problems_reported_at_once() -> None:
    found = errors({"url": "ftp://x", "section": "Bad Section"})
    assert set(found) == {"id", "url", "title", "published_at", "section"}


@pytest.mark.parametrize(
    "url",
    ["/articles/1", "articles/1", "javascript:alert(1)", "JavaScript:alert(1)", "ftp://x.kr/a",
     "https://", "https://news.example.kr/a b", "data:text/html,hi", "http://[abc/x",
     "https://news.example.kr:99999/a", "https://news.example.kr:x/a",
     "https://news.example.kr:0/a", "httpſ://news.example.kr/a"],
)  # fmt: skip
def test_url_must_be_absolute_http(url: str) -> None:
    assert "url" in errors(good(url=url, image_url=url))
    assert "image_url" in errors(good(image_url=url))


@pytest.mark.parametrize(
    "url",
    ["https://news.example.kr/a", "HTTP://NEWS.EXAMPLE.KR", "https://news.example.kr:8443/a",
     "https://user@news.example.kr/a", "https://[2001:db8::1]/a", "https://뉴스.kr/기사?id=1"],
)  # fmt: skip
def test_unusual_but_valid_urls_pass(url: str) -> None:
    assert ok(good(url=url, image_url=url)).url == url


def test_a_broken_link_in_the_body_costs_only_the_link() -> None:
    body = '<p>본문 <a href="//[broken/x">링크</a> <a href="/ok">ok</a></p>'
    html = ok(good(content_html=body)).content_html
    assert "본문" in html and "broken" not in html
    assert 'href="https://news.example.kr/ok"' in html


_URLISH = st.from_regex(
    r"\A([hH]ttps?:|data:|javascript:)?(//)?[\[\]a-z0-9:@.%가-]{0,12}(/[a-z\[:]{0,5})?\Z"
)
_VALUES = st.one_of(
    _URLISH,
    st.text(max_size=30),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
)


@given(
    st.dictionaries(
        st.sampled_from(["id", "url", "title", "published_at", "updated_at", "image_url", "tags",
                         "section", "image_length", "image_type", "status", "summary"]),
        _VALUES,
    ),
    st.lists(_URLISH, max_size=3),
)  # fmt: skip
@settings(max_examples=400, deadline=None)
def test_any_object_gives_an_article_or_named_errors(obj: dict[str, Any], links: list[str]) -> None:
    # A record that makes validation raise would stop a whole import or fail an API call.
    body = "".join(f'<a href="{u}"><img src="{u}"></a>' for u in links)
    result = validate_article({**good(content_html=body), **obj}, tz=SEOUL)
    assert isinstance(result, Article) or all(isinstance(e, FieldError) for e in result)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("23 Nov 2026 09:30", "not an RFC 3339 timestamp"),
        ("2026-11-23", "not an RFC 3339 timestamp"),
        ("2026-13-01T00:00:00Z", "invalid date"),
        ("9999-12-31T23:59:59Z", "year 9999"),
    ],
)
def test_published_at_must_be_rfc3339_and_sane(value: str, reason: str) -> None:
    assert reason in errors(good(published_at=value))["published_at"]


def test_naive_time_is_read_in_the_site_timezone() -> None:
    a = ok(good(published_at="2026-11-23T09:30:00"))
    assert a.published_at == datetime(2026, 11, 23, 0, 30, tzinfo=UTC)


def test_updated_at_never_before_published_at() -> None:
    a = ok(good(updated_at="2026-11-23T08:00:00+09:00"))
    assert a.updated_at == a.published_at
    assert "updated_at" in errors(good(updated_at="yesterday"))


@pytest.mark.parametrize("section", ["Politics", "정치", "world news", "a_b", "x" * 65])
def test_section_characters(section: str) -> None:
    assert "a-z, 0-9 and '-'" in errors(good(section=section))["section"]


def test_five_megabyte_body_is_refused_clearly() -> None:
    body = "<p>" + "가" * (5 * 1024 * 1024 // 3) + "</p>"
    reason = errors(good(content_html=body))["content_html"]
    assert "5.0 MB" in reason and f"limit is {MAX_BODY_BYTES // 1048576} MB" in reason


def test_overlong_display_fields_are_trimmed() -> None:
    a = ok(good(title="가" * 1000, tags=[f"t{i}" for i in range(50)]))
    assert len(a.title) == MAX_TITLE and a.title.endswith("…")
    assert len(a.tags) == MAX_TAGS


def test_wrong_types_named() -> None:
    found = errors(good(title=5, tags="a,b", image_length=-1, status="deleted"))
    assert found["title"] == "must be a string, not int"
    assert "image_length" in found and "status" in found
    assert errors(good(tags=[1, 2])) == {"tags": "must be a list of strings"}


def test_not_an_object() -> None:
    assert validate_article(["id"], tz=SEOUL) == [
        FieldError("", "expected a JSON object, got list")
    ]


def test_images_https_or_data_url() -> None:
    a = ok(good(image_url="data:image/png;base64,iVBORw0KGgo="))
    assert (a.image_type, a.image_length) == ("image/png", 8)
    b = ok(good(image_url="https://news.example.kr/i.jpg", image_type="image/jpeg",
                image_length="48000"))  # fmt: skip
    assert (b.image_type, b.image_length) == ("image/jpeg", 48000)
    assert "image_url" in errors(good(image_url="javascript:alert(1)"))
    assert "image_url" in errors(good(image_url="data:text/html;base64,PGI+"))
    assert "image_type" in errors(good(image_type="text/html"))


def test_numeric_id_becomes_text_and_ids_with_slashes_are_refused() -> None:
    assert ok(good(id=20261123)).external_id == "20261123"
    assert "id" in errors(good(id="a/b"))


def test_a_superscript_image_length_is_a_named_error_not_a_crash() -> None:
    # "²".isdigit() is true but int("²") raises: found by the property test below.
    assert "image_length" in errors(good(image_url="https://x.example/a.jpg", image_length="²"))
