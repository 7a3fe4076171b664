"""A digest run streams its readers and enqueues them in batches (issue 19: a million readers
in flat memory), on SQLite and PostgreSQL. With a batch of 3, a run over 14 readers in 4
section choices crosses several batches and variants: every reader still gets exactly one
row of their own variant, and a failure after some batches were written leaves nothing."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import Engine, func, select

from publisher.core.config import Settings
from publisher.digests import pipeline, streamed
from publisher.messages import fanout
from publisher.store.schema import digest_runs, outbox
from tests.digestkit import NOW, add_subscriber, load_store, schedules

CHOICES: list[tuple[str, ...]] = [(), ("politics",), ("economy", "sports"), ("culture",)]


def _readers(engine: Engine, n: int = 14) -> dict[str, tuple[str, ...]]:
    made = {}
    for i in range(n):
        email = f"reader{i:02d}@example.kr"
        add_subscriber(engine, email, CHOICES[i % len(CHOICES)])
        made[email] = CHOICES[i % len(CHOICES)]
    add_subscriber(engine, "pending@example.kr", status="pending")
    return made


def _rows(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        q = select(outbox.c.recipient, outbox.c.content_id).order_by(outbox.c.id)
        return [(r, int(c)) for r, c in conn.execute(q)]


def test_batches_give_each_reader_one_row_of_their_variant(
    any_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_store(any_engine)
    readers = _readers(any_engine)
    monkeypatch.setattr(streamed, "BATCH", 3)
    result = pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert (result.status, result.recipients, result.enqueued) == ("enqueued", 14, 14)
    assert result.variants == len(CHOICES)
    rows = _rows(any_engine)
    assert sorted(r for r, _ in rows) == sorted(readers)  # each confirmed reader exactly once
    contents: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for recipient, content_id in rows:
        contents[readers[recipient]].add(content_id)
    # One stored variant per section choice, the same for all who made it.
    assert all(len(ids) == 1 for ids in contents.values())
    assert len({next(iter(ids)) for ids in contents.values()}) == len(CHOICES)
    again = pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert again.status == "already" and len(_rows(any_engine)) == 14


def test_a_failure_after_some_batches_leaves_no_row_and_no_run(
    any_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_store(any_engine)
    _readers(any_engine)
    monkeypatch.setattr(streamed, "BATCH", 3)
    real = fanout.enqueue_groups
    calls = []

    def failing(*args: object, **kw: object) -> int:
        calls.append(1)
        if len(calls) == 3:  # two batches are written in the run's transaction by now
            raise RuntimeError("disk full")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(fanout, "enqueue_groups", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert _rows(any_engine) == []
    with any_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(digest_runs)).scalar_one() == 0
    monkeypatch.setattr(fanout, "enqueue_groups", real)
    result = pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert (result.status, result.enqueued) == ("enqueued", 14)
