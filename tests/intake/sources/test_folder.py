"""The drop folder: settled files are imported and moved; rejects go to failed/ with reasons."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from publisher.core.config import FolderSource, Settings
from publisher.intake.polling import run_collect
from publisher.store import articles as store_articles
from tests.conftest import T0
from tests.intake.sources.kit import jsonl, obj, state, titles, touch, with_sources


def _settings(settings: Settings, drop: Path) -> Settings:
    return with_sources(
        settings, FolderSource(kind="folder", name="cms-drop", path=drop, settle_seconds=10)
    )


def test_files_move_to_done_or_failed_and_a_fresh_file_waits(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    s = _settings(settings, drop)
    (drop / "good.jsonl").write_text(jsonl(obj(1), obj(2)), encoding="utf-8")
    bad = [obj(3), {**obj(4), "url": "ftp://x"}, {"title": "no id"}]
    one_per_line = "[\n" + ",\n".join(json.dumps(o, ensure_ascii=False) for o in bad) + "\n]\n"
    (drop / "bad.json").write_text(one_per_line, "utf-8")
    (drop / "writing.jsonl").write_text(jsonl(obj(5)), encoding="utf-8")
    (drop / "notes.txt").write_text("not an export", encoding="utf-8")
    for name in ("good.jsonl", "bad.json", "notes.txt"):
        touch(drop / name, T0 - timedelta(minutes=5))
    touch(drop / "writing.jsonl", T0 - timedelta(seconds=3))  # modified 3 s ago: still settling

    report = run_collect(s, engine, now=T0)

    assert report.changed and report.failed == []
    assert sorted(p.name for p in drop.iterdir()) == [
        "done", "failed", "notes.txt", "writing.jsonl"
    ]  # fmt: skip
    assert [p.name for p in (drop / "done").iterdir()] == ["good.jsonl"]
    assert sorted(p.name for p in (drop / "failed").iterdir()) == [
        "bad.json", "bad.json.errors.txt"
    ]  # fmt: skip
    errors = (drop / "failed" / "bad.json.errors.txt").read_text("utf-8")
    assert "2 record(s) rejected; the other records were imported" in errors
    assert "line 3: url: must be an absolute http(s) URL" in errors
    assert "line 4: id: is required" in errors and "line 4: url: is required" in errors
    assert set(titles(engine)) == {"cms-1", "cms-2", "cms-3"}  # the good record of bad.json too
    with engine.connect() as conn:  # new articles are what the next digest picks up
        new = store_articles.registered_between(conn, after=T0 - timedelta(seconds=1), until=T0)
    assert {a.external_id for a in new} == {"cms-1", "cms-2", "cms-3"}
    st = state(engine, "cms-drop")
    assert st.failures == 0 and st.last_success_at == T0
    assert "moved to failed/: bad.json" in st.last_result and "1 file(s) settling" in st.last_result

    # 30 s later the file has settled; a second drop named good.jsonl keeps the first one.
    (drop / "good.jsonl").write_text(jsonl(obj(1, title="기사 1 (수정)")), encoding="utf-8")
    touch(drop / "good.jsonl", T0)
    report = run_collect(s, engine, now=T0 + timedelta(seconds=30))
    assert [(r.added, r.updated) for r in report.sources] == [(1, 1)]
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "good.20261123T010030Z.jsonl", "good.jsonl", "writing.jsonl"
    ]  # fmt: skip
    assert titles(engine)["cms-1"] == "기사 1 (수정)"


def test_an_unreadable_file_fails_whole_and_nothing_is_imported(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "export.json").write_text('{"id": "not an array"}', encoding="utf-8")
    touch(drop / "export.json", T0 - timedelta(minutes=1))
    report = run_collect(_settings(settings, drop), engine, now=T0)
    assert not report.changed
    errors = (drop / "failed" / "export.json.errors.txt").read_text("utf-8")
    assert "nothing was imported" in errors and "must start with '['" in errors
    assert titles(engine) == {}


def test_a_missing_folder_is_a_failing_source(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    report = run_collect(_settings(settings, tmp_path / "nowhere"), engine, now=T0)
    assert report.failed == ["cms-drop"]
    assert "folder not found" in state(engine, "cms-drop").last_error
