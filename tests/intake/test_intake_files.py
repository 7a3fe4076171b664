"""Import files: JSON Lines, JSON array and CSV; bad records are reported and never stop others."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.intake.batch import ImportReport, import_articles
from publisher.intake.records import FileError, Record, detect_format, read_items, read_records
from publisher.intake.validate import REQUIRED
from publisher.store import articles as store_articles

SEOUL = ZoneInfo("Asia/Seoul")


def art(n: int, **changes: Any) -> dict[str, Any]:
    base = {
        "id": f"20261123-{n:04d}",
        "url": f"https://news.example.kr/articles/20261123-{n:04d}",
        "title": f"기사 {n}",
        "published_at": "2026-11-23T09:30:00+09:00",
        "section": "society",
    }
    base.update(changes)
    return base


def jsonl(*objs: Any) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objs)


def run(
    engine: Engine, clock: FixedClock, data: bytes, fmt: str = "jsonl", workers: int = 0
) -> ImportReport:
    """The CLI's path: JSON Lines are decoded by the validator (in workers, with ``workers``)."""
    records = read_items(io.BytesIO(data), fmt, required=REQUIRED)  # type: ignore[arg-type]
    return import_articles(
        engine, records, tz=SEOUL, now=clock.now(), batch_size=2, workers=workers
    )


def stored(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        found = store_articles.latest_articles(conn, limit=100, include_retracted=True)
    return {a.external_id: a.title for a in found}


def lines(report: ImportReport) -> list[tuple[int, str]]:
    return [(p.line, p.field) for p in report.rejected]


def test_added_updated_unchanged(engine: Engine, clock: FixedClock) -> None:
    first = run(engine, clock, jsonl(art(1), art(2), art(3)))
    assert (first.added, first.updated, first.unchanged, first.rejected) == (3, 0, 0, [])
    again = run(engine, clock, jsonl(art(1), art(2, title="정정"), art(3)))
    assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
    assert again.summary() == "added 0, updated 1, unchanged 2, rejected 0"


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "2 workers"])
def test_bad_records_reported_by_line_and_the_rest_imported(
    engine: Engine, clock: FixedClock, workers: int
) -> None:
    data = (
        jsonl(art(1), art(2, url="javascript:x"), art(3, published_at="9999-01-01T00:00:00Z"))
        + b"[1, 2]\n"
        + b'"just a string"\n'
        + jsonl(art(4, section="Bad!"), art(5, title=""))
        + b'{"id": "20261123-0006", "url": "https://news.example.kr/\xff", "title": "x", '
        + b'"published_at": "2026-11-23T09:30:00Z"}\n'
        + b"\n"  # blank lines are skipped
        + jsonl(art(7))
        + b'{"id": "20261123-0008", "url": "https://news.exa'
    )
    report = run(engine, clock, data, workers=workers)
    assert lines(report) == [
        (2, "url"), (3, "published_at"), (4, ""), (5, ""), (6, "section"), (7, "title"),
        (8, ""), (11, ""),
    ]  # fmt: skip
    reasons = [p.reason for p in report.rejected]
    assert "expected a JSON object, got an array" in reasons
    assert "expected a JSON object, got a string" in reasons
    assert any(r.startswith("not valid UTF-8") for r in reasons)
    assert reasons[-1] == "truncated last line: the file ends inside a record"
    assert report.rejected_records == 8
    assert set(stored(engine)) == {"20261123-0001", "20261123-0007"}


def test_duplicate_id_last_one_wins_with_a_warning(engine: Engine, clock: FixedClock) -> None:
    report = run(engine, clock, jsonl(art(1, title="처음"), art(2), art(3), art(1, title="나중")))
    assert report.added == 3 and not report.rejected
    assert [(w.line, w.field) for w in report.warnings] == [(4, "id")]
    assert "duplicate of line 1" in report.warnings[0].reason
    assert stored(engine)["20261123-0001"] == "나중"


def test_json_array(engine: Engine, clock: FixedClock) -> None:
    data = json.dumps([art(1), art(2), 7, art(3, url="/x")], ensure_ascii=False, indent=1).encode()
    report = run(engine, clock, data, "json")
    assert report.added == 2
    assert report.rejected[0].reason == "expected a JSON object, got a number"
    assert report.rejected[1].field == "url"
    assert report.rejected[0].line < report.rejected[1].line


def test_json_array_truncated_and_broken_utf8(engine: Engine, clock: FixedClock) -> None:
    good = json.dumps(art(1), ensure_ascii=False).encode()
    bad = json.dumps(art(2, title="X")).encode().replace(b'"X"', b'"\xc3("')
    data = b"[\n" + good + b",\n" + bad + b",\n" + good.replace(b"0001", b"0003") + b',\n{"id": "4'
    report = run(engine, clock, data, "json")
    assert report.added == 2
    assert [(p.line, p.reason) for p in report.rejected] == [
        (3, "not valid UTF-8 inside this record"),
        (5, "not valid JSON: the file ends inside this record; nothing after it was read"),
    ]


@pytest.mark.parametrize("chunk", [1 << 20, 3], ids=["one chunk", "3-byte chunks"])
def test_json_array_content_after_the_closing_bracket(
    engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    import publisher.intake.records as importers

    monkeypatch.setattr(importers, "_CHUNK", chunk)  # whitespace and text across chunk ends
    good = json.dumps([art(1), art(2)], ensure_ascii=False).encode()
    report = run(engine, clock, good + b" \t\r\n\n", "json")
    assert (report.added, report.rejected) == (2, [])
    data = b"[\n" + good[1:-1] + b"\n] \n\n\t trailing\n"
    report = run(engine, clock, data, "json")
    assert report.unchanged == 2  # the records before it are still imported
    assert [(p.line, p.reason) for p in report.rejected] == [
        (5, "not valid JSON: content after the closing ']'")
    ]
    report = run(engine, clock, b"[] []", "json")
    assert [(p.line, p.reason) for p in report.rejected] == [
        (1, "not valid JSON: content after the closing ']'")
    ]


def test_json_file_that_is_not_an_array() -> None:
    with pytest.raises(FileError, match="must start with"):
        list(read_records(io.BytesIO(b'{"id": 1}'), "json"))


def test_csv(engine: Engine, clock: FixedClock) -> None:
    data = (
        "id,url,title,published_at,section,tags\n"
        '20261123-0001,https://news.example.kr/a/1,"첫째, 기사",2026-11-23T09:30:00+09:00,'
        'society,"날씨,한파"\n'
        "20261123-0002,/relative,둘째,2026-11-23T09:30:00+09:00,society,\n"
        "20261123-0003,https://news.example.kr/a/3,셋째\n"
        '20261123-0004,https://news.example.kr/a/4,"넷째\n'
    ).encode()
    report = run(engine, clock, data, "csv")
    assert report.added == 1
    assert [(p.line, p.field) for p in report.rejected] == [(3, "url"), (4, ""), (5, "")]
    assert "has 3 fields" in report.rejected[1].reason
    with engine.connect() as conn:
        a = store_articles.get_article(conn, "20261123-0001")
    assert a is not None and a.title == "첫째, 기사" and a.tags == ("날씨", "한파")


def test_csv_missing_required_header_imports_nothing(engine: Engine, clock: FixedClock) -> None:
    data = b"id,title,published_at\n20261123-0001,t,2026-11-23T09:30:00Z\n"
    with pytest.raises(FileError, match=r"lacks required column.*url"):
        run(engine, clock, data, "csv")
    assert stored(engine) == {}


def test_format_from_extension_or_flag() -> None:
    assert detect_format(Path("a.jsonl")) == "jsonl"
    assert detect_format(Path("a.NDJSON")) == "jsonl"
    assert detect_format(Path("a.json")) == "json"
    assert detect_format(Path("a.csv")) == "csv"
    assert detect_format(Path("a.txt"), "csv") == "csv"
    with pytest.raises(FileError, match="--format"):
        detect_format(Path("a.txt"))
    with pytest.raises(FileError, match="must be one of"):
        detect_format(Path("a.jsonl"), "xml")


def test_a_batch_the_database_refuses_costs_only_the_bad_article(
    engine: Engine, clock: FixedClock
) -> None:
    # Intake lets nothing through that the schema refuses, so make the database refuse one
    # article on purpose with a trigger.
    report = run(engine, clock, jsonl(art(1), art(2)))
    assert report.added == 2
    records = [Record(1, art(3)), Record(2, art(4, section="ghost"))]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER no_ghost BEFORE INSERT ON articles WHEN NEW.section = 'ghost' "
            "BEGIN SELECT RAISE(ABORT, 'ghost'); END"
        )
    result = import_articles(engine, records, tz=SEOUL, now=clock.now())
    assert result.added == 1
    assert [(p.line, p.reason) for p in result.rejected] == [(2, "the database refused it: ghost")]
    assert "20261123-0003" in stored(engine) and "20261123-0004" not in stored(engine)


def test_parallel_validation_gives_the_same_report(
    engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import publisher.intake.workers as parallel

    objs = [art(n, url="/bad") if n % 7 == 0 else art(n) for n in range(1, 600)]
    data = jsonl(*objs) + b"[]\n" + jsonl(art(3, title="나중"))
    records = list(read_records(io.BytesIO(data), "jsonl"))
    serial = import_articles(engine, records, tz=SEOUL, now=clock.now())
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM articles")
    monkeypatch.setattr(parallel, "CHUNK", 50)  # several chunks in flight at once
    both = import_articles(engine, records, tz=SEOUL, now=clock.now(), workers=2)
    assert (both.added, both.rejected, both.warnings) == (
        serial.added, serial.rejected, serial.warnings
    )  # fmt: skip
    assert both.added == 599 - 85 and both.rejected_records == 86
    assert stored(engine)["20261123-0003"] == "나중"


def test_five_megabyte_body_in_a_file(engine: Engine, clock: FixedClock) -> None:
    huge = art(2, content_html="<p>" + "x" * (5 * 1024 * 1024) + "</p>")
    report = run(engine, clock, jsonl(art(1), huge, art(3)))
    assert report.added == 2
    assert [(p.line, p.field) for p in report.rejected] == [(2, "content_html")]
    assert report.rejected[0].reason == "is 5.0 MB; the limit is 1 MB"
