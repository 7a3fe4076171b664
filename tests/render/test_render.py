"""Rendering: Korean dates, text part by display width, size budget, premailer offline."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.core.models import RankedArticle, SectionGroup, Selection
from publisher.render.htmllines import wrap_lines
from publisher.render.templates import DigestInput, Links, Renderer
from publisher.render.textwidth import width
from publisher.render.translations import ko_date
from tests.conftest import ROOT
from tests.digestkit import DUE, article

SEOUL = ZoneInfo("Asia/Seoul")


def _renderer(language: str = "ko", budget: int = 100_000) -> Renderer:
    return Renderer(
        templates_dir=ROOT / "templates", site_name="한빛일보", site_url="https://news.example.kr/",
        language=language, tz=SEOUL, sender_name="한빛일보",
        postal_address="04524 서울특별시 중구 세종대로 1", html_budget=budget,
    )  # fmt: skip


def _selection(n: int, summary_words: int = 8) -> Selection:
    items = [
        article(
            i,
            "politics" if i % 2 else "economy",
            published=DUE - timedelta(minutes=i),
            summary="예산안 관련 발표 내용을 요약했다. " * summary_words,
            id=i,
        )
        for i in range(1, n + 1)
    ]
    groups = (
        SectionGroup("politics", "정치", tuple(a for a in items if a.section == "politics")),
        SectionGroup("economy", "경제", tuple(a for a in items if a.section == "economy")),
    )
    top = tuple(
        RankedArticle(rank=k, article=items[k - 1], views=100 - k) for k in range(1, min(6, n + 1))
    )
    return Selection(groups, top)


def _input(sel: Selection) -> DigestInput:
    return DigestInput(
        digest_id="morning", digest_name="아침 뉴스레터",
        subject_template="{{ site_name }} 아침 브리핑 {{ date | ko_date }}", template="digest",
        date=DUE, selection=sel,
        links=Links("https://n.example.kr/archive/morning/1", "%%PREFERENCES_URL%%",
                    "%%UNSUBSCRIBE_URL%%"),
    )  # fmt: skip


def test_ko_date_and_subject_in_site_timezone() -> None:
    assert ko_date(datetime(2026, 11, 24, 7, 0, tzinfo=SEOUL)) == "2026년 11월 24일 (화)"
    out = _renderer().digest(_input(_selection(4)))
    # 22:00 UTC on the 23rd is the morning of the 24th in Seoul.
    assert out.subject == "한빛일보 아침 브리핑 2026년 11월 24일 (화)"


def test_html_has_the_parts_a_reader_sees() -> None:
    sel = _selection(4)
    html = _renderer().digest(_input(sel)).html
    assert 'class="preheader"' in html and "display:none" in html
    assert "브라우저에서 보기" in html and "https://n.example.kr/archive/morning/1" in html
    assert "많이 본 뉴스" in html
    assert 'alt="사진 2" width="120" height="80"' in html
    assert "%%UNSUBSCRIBE_URL%%" in html and "%%PREFERENCES_URL%%" in html
    assert "04524 서울특별시 중구 세종대로 1" in html
    assert "prefers-color-scheme: dark" in html  # kept in <style>, not inlinable
    assert 'role="presentation"' in html
    for g in sel.groups:
        for a in g.articles:
            assert f'href="{a.url}"' in html and a.title in html


def test_english_is_available() -> None:
    html = _renderer("en").digest(_input(_selection(2))).html
    assert "View in browser" in html and "Most viewed" in html and "Unsubscribe" in html


def test_text_part_has_every_title_and_url_and_wraps_by_width() -> None:
    long_title = "초장문 제목 " + "가나다라마바사아자차카타파하 " * 8
    sel = _selection(6)
    groups = (
        SectionGroup(
            "politics",
            "정치",
            (
                *sel.groups[0].articles,
                article(99, "politics", published=DUE, title=long_title, id=99),
            ),
        ),
        sel.groups[1],
    )
    sel = Selection(groups, sel.most_viewed)
    text = _renderer().digest(_input(sel)).text
    flat = " ".join(text.split())
    for g in sel.groups:
        for a in g.articles:
            assert " ".join(a.title.split()) in flat
            assert a.url in text.splitlines() or f"  {a.url}" in text.splitlines()
    for line in text.splitlines():
        if "://" not in line and "%%" not in line:
            assert width(line) <= 72, line
    assert "HTML" not in text


def test_over_budget_shortens_summaries_first(caplog: pytest.LogCaptureFixture) -> None:
    sel = _selection(40, summary_words=40)
    full = _renderer(budget=10_000_000).digest(_input(sel))
    budget = full.html_bytes - 5_000
    out = _renderer(budget=budget).digest(_input(sel))
    assert out.summaries_trimmed and out.moved_to_site == 0
    assert out.html_bytes < budget
    assert "over" in caplog.text


def test_then_moves_items_to_the_site_link() -> None:
    sel = _selection(120, summary_words=60)
    out = _renderer().digest(_input(sel))
    assert out.html_bytes < 100_000
    assert out.moved_to_site > 0
    assert f"사이트에서 {out.moved_to_site}건 더 보기" in out.html
    assert f"사이트에서 {out.moved_to_site}건 더 보기" in out.text


def test_premailer_fetches_nothing() -> None:
    hits: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            conn.settimeout(1)
            first = conn.recv(100)
            conn.close()
            if first == b"STOP":
                return
            hits.append(first)

    t = threading.Thread(target=accept)
    t.start()
    html = (
        f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
        f'<style>@import url("http://127.0.0.1:{port}/y.css"); p {{ color: red }}</style>'
        "</head><body><p>x</p></body></html>"
    )
    try:
        out = _renderer().inline(html)
    finally:
        with socket.create_connection(("127.0.0.1", port)) as wake:
            wake.sendall(b"STOP")
        t.join(5)
        server.close()
    assert hits == []
    assert 'style="color:red"' in out


def test_long_lines_are_wrapped_harmlessly() -> None:
    style = "; ".join(f"padding-left:{i}px" for i in range(80))
    line = f'<td style="{style}"><a href="https://x.kr/{"a" * 300}">' + "한글 " * 300 + "</a></td>"
    out = wrap_lines(line, 600)
    assert all(len(ln.encode()) <= 600 for ln in out.splitlines())
    assert out.replace("\n", " ") == line  # only spaces became newlines
    assert f'href="https://x.kr/{"a" * 300}"' in out


def test_templates_exist() -> None:
    names = {p.name for p in (Path(ROOT) / "templates" / "email").iterdir()}
    for need in ("base.html.j2", "digest.html.j2", "digest.txt.j2", "article.html.j2",
                 "article.txt.j2", "confirm.html.j2", "confirm.txt.j2", "email.css"):  # fmt: skip
        assert need in names
    assert datetime.now(UTC)  # templates are read from disk at Renderer creation


def test_wrap_counts_hangul_double_and_keeps_urls_whole() -> None:
    from publisher.render.textwidth import wrap

    out = wrap("가나다라마 " * 10 + "https://news.example.kr/" + "a" * 80, cols=24)
    lines = out.splitlines()
    assert all(width(ln) <= 24 for ln in lines if "://" not in ln)
    assert lines[0] == "가나다라마 가나다라마"  # 10 + 1 + 10 = 21 columns; another word won't fit
    assert "https://news.example.kr/" + "a" * 80 in lines
