"""Line budgets: stored content and substituted values fit 998 bytes together, by construction."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from publisher.messages import mime
from publisher.messages.fanout import Identity
from publisher.render.htmllines import fold_html, wrap_lines
from publisher.render.linebudget import (
    MAX_LINE,
    VALUE_LINE_MAX,
    LineTooLong,
    PlaceholderInValue,
    check_literal,
    check_message,
    check_values,
    cost,
    fill_once,
)
from publisher.render.templates import RenderedEmail

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def _lines(text: str) -> list[int]:
    return [len(line.encode("utf-8")) for line in text.split("\r\n")]


@pytest.mark.parametrize(
    "text",
    ["&" * 300, "가" * 300, "😀" * 300, "<>" * 150, "A&B " * 75, "줄\n" * 100, "a" + "́" * 3 * 99],
)
def test_fold_html_fits_and_reads_the_same(text: str) -> None:
    folded = fold_html(text)
    assert max(_lines(folded)) <= VALUE_LINE_MAX
    shown = re.sub(r"<!--\r\n-->", "", folded).replace("<br>\r\n", "\n").replace("\r\n", " ")
    assert unescape(shown) == text


def test_fold_text_wraps_and_caps_bytes() -> None:
    folded = mime.fold_text("가" * 300 + " 끝\n" + "e" + "\u0301" * 299, indent="  ")
    assert max(_lines(folded)) <= VALUE_LINE_MAX
    assert all(line.startswith("  ") for line in folded.split("\r\n")[1:])


def test_wrap_lines_counts_placeholders_at_their_budget_and_never_splits_one() -> None:
    links = " · ".join(
        f'<a href="%%LINK_{i}%%" style="color:#57606a">링크 {i}</a>' for i in range(6)
    )
    out = wrap_lines(f"<p>{links}</p>", 600)
    assert all(cost(line) <= 600 for line in out.splitlines())
    assert re.findall(r"%%LINK_\d%%", out) == [f"%%LINK_{i}%%" for i in range(6)]
    # No harmless place at all: the fallback still keeps each placeholder whole.
    out = wrap_lines("x" * 500 + "%%TO%%" + "y" * 500, 600)
    assert "%%TO%%" in out and all(cost(line) <= 600 for line in out.splitlines())


def test_compose_refuses_content_whose_placeholders_could_overflow() -> None:
    rendered = RenderedEmail(
        subject="s", html="<p>ok</p>", text="x" * (MAX_LINE - VALUE_LINE_MAX + 1) + "%%TO%%"
    )
    sender = mime.Sender("한빛일보", "news@news.example.kr")
    with pytest.raises(mime.ComposeError, match="placeholders"):
        mime.compose(rendered=rendered, sender=sender, date=NOW)
    fits = replace(rendered, text="x" * (MAX_LINE - VALUE_LINE_MAX) + "%%TO%%")
    assert mime.compose(rendered=fits, sender=sender, date=NOW)


def test_values_over_their_budget_are_a_named_error() -> None:
    check_values({"%%NOTE%%": "가" * 100 + "\r\n" + "나" * 100})
    with pytest.raises(LineTooLong, match="%%NOTE%%"):
        check_values({"%%NOTE%%": "가" * 101})
    with pytest.raises(LineTooLong, match="line 2"):
        check_message(b"ok\r\n" + b"x" * 999 + b"\r\n")


def test_an_address_never_has_a_line_over_its_budget() -> None:
    long_ascii = "x" * 200
    assert mime.address(long_ascii, "a@example.kr") == "a@example.kr"
    folded = mime.address("김" * 60, "minsu@example.kr")
    assert max(_lines(folded)) <= 78 and folded.endswith("<minsu@example.kr>")


def test_fanout_refuses_links_that_cannot_fit() -> None:
    identity = Identity(
        sender=mime.Sender("한빛일보", "news@news.example.kr"),
        base_url="https://news.example.kr/" + "n" * 300, secret="s" * 20,
        list_domain="news.example.kr", unsubscribe_mailto="u@news.example.kr",
        message_id_domain="news.example.kr", expiries={"digest": timedelta(days=1)},
    )  # fmt: skip
    with pytest.raises(LineTooLong, match="URL"):
        identity.substitutions(subscriber_id=1, name="김민수", email="m@example.kr", now=NOW)


def test_fill_once_never_expands_a_placeholder_inside_a_value() -> None:
    template = b"To: %%TO%%\r\n\r\nnote: %%NOTE%%\r\nblock: %%BLOCK%%\r\n%%OTHER%%"
    values = {"%%TO%%": "a@example.kr", "%%NOTE%%": "%%BLOCK%%" * 3, "%%BLOCK%%": "x" * 200}
    filled = fill_once(template, values)
    assert filled == (
        b"To: a@example.kr\r\n\r\nnote: %%BLOCK%%%%BLOCK%%%%BLOCK%%\r\nblock: " + b"x" * 200
        + b"\r\n%%OTHER%%"
    )  # fmt: skip


def test_a_value_holding_a_placeholder_is_refused() -> None:
    check_literal({"%%NOTE%%": "3.5% growth, 100%", "%%TO%%": "a@example.kr"})
    with pytest.raises(PlaceholderInValue, match="%%NOTE%%"):
        check_literal({"%%NOTE%%": "see %%SHARE_BLOCK_URL%%"})
