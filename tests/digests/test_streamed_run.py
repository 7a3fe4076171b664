"""A digest run streams its readers and enqueues them in batches (issue 19: a million readers
in flat memory), on SQLite and PostgreSQL. With a batch of 3, a run over 14 readers in 4
section choices crosses several batches and variants: every reader still gets exactly one
row of their own variant, and a failure after some batches were written leaves nothing."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, func, select

from publisher.core.config import Settings
from publisher.digests import pipeline, streamed
from publisher.messages import fanout
from publisher.messages.enqueue import message_id_for
from publisher.store import outboxrows
from publisher.store.schema import digest_runs, outbox, subscribers
from publisher.store.subscribers import Recipient
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
    real = fanout.prepare_groups
    calls = []

    def failing(*args: object, **kw: object) -> Callable[[], int]:
        write = real(*args, **kw)  # type: ignore[arg-type]

        def fails() -> int:
            calls.append(1)
            if len(calls) == 3:  # two batches are written in the run's transaction by now
                raise RuntimeError("disk full")
            return write()

        return fails

    monkeypatch.setattr(fanout, "prepare_groups", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert _rows(any_engine) == []
    with any_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(digest_runs)).scalar_one() == 0
    monkeypatch.setattr(fanout, "prepare_groups", real)
    result = pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert (result.status, result.enqueued) == ("enqueued", 14)


@pytest.mark.parametrize("copy_from", [1, 10**9])  # every batch COPY'd (PostgreSQL) / none
def test_each_row_carries_its_reader_s_values_and_message_id(
    any_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, copy_from: int
) -> None:
    """The bulk path (batches of 3, COPY'd on PostgreSQL) writes, for every reader, the
    values ``Identity.substitutions`` gives them (tokens as itsdangerous signs them) and the
    Message-ID derived from the dedupe key, exactly once per reader, and a rerun adds none."""
    load_store(any_engine)
    _readers(any_engine)
    monkeypatch.setattr(streamed, "BATCH", 3)
    monkeypatch.setattr(outboxrows, "COPY_FROM", copy_from)
    result = pipeline.run_digest(any_engine, settings, schedules(), "morning", now=NOW)
    assert (result.status, result.enqueued) == ("enqueued", 14)
    identity = fanout.Identity.from_settings(settings)
    with any_engine.connect() as conn:
        q = select(outbox, subscribers.c.id.label("sid"), subscribers.c.name).join(
            subscribers, subscribers.c.email == outbox.c.recipient
        )
        rows = list(conn.execute(q))
    assert len(rows) == 14 and len({r.sid for r in rows}) == 14
    for r in rows:
        expected = identity.substitutions(
            subscriber_id=r.sid, name=r.name, email=r.recipient, now=r.created_at
        )
        assert json.loads(r.substitutions) == expected
        assert r.dedupe_key.endswith(f":{r.sid}")
        assert r.message_id == message_id_for(r.dedupe_key, identity.message_id_domain)
        assert (r.status, r.attempts, r.kind) == ("queued", 0, "digest")


def test_overlapped_batches_go_in_order_on_one_worker_and_a_failure_surfaces() -> None:
    """``overlap`` (PostgreSQL): batches are written on a worker thread, in order, one at a
    time; a batch's error reaches the run at the next hand-over, and no later batch is sent."""
    sent: list[tuple[list[int], str]] = []

    def send(groups: dict[int, list[Recipient]]) -> Callable[[], int]:
        ids = [r.id for rs in groups.values() for r in rs]

        def write() -> int:
            sent.append((ids, threading.current_thread().name))
            if len(sent) == 3:
                raise RuntimeError("connection lost")
            return len(ids)

        return write

    readers = [Recipient(i, f"r{i}@example.kr", "", (), None) for i in range(10)]
    with ThreadPoolExecutor(1, thread_name_prefix="fan-out") as pool:
        out = streamed.Sender(send, pool)
        for r in readers[:4]:
            out.add(r.id % 2, r, 2)
        assert out.finish() == 4
        assert [ids for ids, _ in sent] == [[0, 1], [2, 3]]
        assert all(name.startswith("fan-out") for _, name in sent)
        with pytest.raises(RuntimeError, match="connection lost"):
            for r in readers[4:]:
                out.add(0, r, 2)
            out.finish()
    assert len(sent) == 3  # nothing after the failed batch


def test_a_failed_write_is_the_error_the_run_reports_not_what_followed_it() -> None:
    """On PostgreSQL a batch's failed write aborts the transaction, and the run's own next
    statement then fails with "current transaction is aborted": the run must report the
    write's error, the one that says what went wrong (review)."""
    failed = threading.Event()

    def send(groups: dict[int, list[Recipient]]) -> Callable[[], int]:
        def write() -> int:
            failed.set()
            raise RuntimeError("division by zero")  # what the database said of the batch

        return write

    class OneVariantPerPair:
        variants, skipped = 2, 0

        def variant_for(self, r: Recipient) -> SimpleNamespace:
            return SimpleNamespace(key=str(r.id // 2))

    def content_for(variant: object, number: int) -> int:
        if number > 1:  # the run's next statement, once the batch's write has failed
            assert failed.wait(30)
            raise RuntimeError("current transaction is aborted")
        return 1

    readers = [Recipient(i, f"r{i}@example.kr", "", (), None) for i in range(4)]
    with pytest.raises(RuntimeError, match="division by zero"):
        streamed.fan_out(OneVariantPerPair(), iter(readers), content_for=content_for,  # type: ignore[arg-type]
                         send=send, batch=2, overlap=True)  # fmt: skip
