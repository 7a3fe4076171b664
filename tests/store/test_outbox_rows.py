"""Bulk outbox writes (issue 19), on SQLite and PostgreSQL: the driver-level insert and the
COPY path store exactly what SQLAlchemy's own insert stored, skip existing dedupe keys, count
only new rows, keep the batch's order, and leave nothing behind a rolled-back transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, select, text

from publisher.messages.enqueue import NewMessage, batch_rows, enqueue, message_id_for, write_rows
from publisher.store import outbox as store_outbox
from publisher.store import outboxrows
from publisher.store.db import dialect_insert
from publisher.store.schema import outbox

NOW = datetime(2026, 11, 23, 22, 0, 30, 123456, tzinfo=UTC)
SUBS = {"%%TO%%": "=?utf-8?b?64+F7J6QIDE=?= <r@example.kr>", "%%NOTE%%": 'a "quote" \\ \t tab'}
COLUMNS = (
    "kind, recipient, content_id, substitutions, status, attempts, next_attempt_at, "
    "expires_at, message_id, created_at, updated_at, lease_until, lease_owner, sent_at"
)


def _content(engine: Engine) -> int:
    with engine.begin() as conn:
        return store_outbox.put_content(conn, key="c", kind="digest", body=b"x", now=NOW)


def _batch(content_id: int, keys: range | list[int]) -> list[tuple[str, str, int, dict[str, str]]]:
    return [(f"digest:7:{k}", f"reader{k}@example.kr", content_id, SUBS) for k in keys]


def _write(conn: Connection, rows: list[tuple[str, str, int, dict[str, str]]],
           hours: int = 1) -> int:  # fmt: skip
    """A digest batch as a run writes it: rows built, then written in the caller's
    transaction."""
    made = batch_rows(rows, kind="digest", expires_in=timedelta(hours=hours), not_before=None,
                      now=NOW, domain="example.kr")  # fmt: skip
    return write_rows(conn, made, now=NOW)


def _put(engine: Engine, rows: list[tuple[str, str, int, dict[str, str]]]) -> int:
    with engine.begin() as conn:
        return _write(conn, rows, hours=24)


def _keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox.c.dedupe_key).order_by(outbox.c.id)).scalars())


@pytest.mark.parametrize("size", [1, outboxrows.COPY_FROM + 7])
def test_bulk_rows_are_the_rows_sqlalchemy_wrote(any_engine: Engine, size: int) -> None:
    """The same stored values, byte for byte (datetimes in the dialect's own form), as the
    Core insert that wrote outbox rows before (its per-row parameter processing)."""
    cid = _content(any_engine)
    assert _put(any_engine, _batch(cid, range(size))) == size
    with any_engine.begin() as conn:
        conn.execute(
            dialect_insert(conn)(outbox).values(
                dedupe_key="core", kind="digest", recipient="reader0@example.kr",
                content_id=cid, substitutions=json.dumps(SUBS, ensure_ascii=False),
                status="queued", attempts=0, next_attempt_at=NOW,
                expires_at=NOW + timedelta(hours=24),
                message_id=message_id_for("digest:7:0", "example.kr"),
                created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
    with any_engine.connect() as conn:
        raw = f"SELECT {COLUMNS} FROM outbox WHERE dedupe_key = "
        core = conn.execute(text(raw + "'core'")).one()
        bulk = conn.execute(text(raw + "'digest:7:0'")).one()
    assert tuple(bulk) == tuple(core)
    assert json.loads(bulk.substitutions) == SUBS


@pytest.mark.parametrize("size", [3, outboxrows.COPY_FROM + 7])
def test_existing_keys_are_skipped_and_only_new_rows_counted(any_engine: Engine, size: int) -> None:
    cid = _content(any_engine)
    first = list(range(size))
    assert _put(any_engine, _batch(cid, first)) == size
    assert _put(any_engine, _batch(cid, first)) == 0  # a rerun enqueues nothing twice
    more = [*range(size // 2, size + 5), size + 1]  # half old, new ones, one repeated
    assert _put(any_engine, _batch(cid, more)) == 5
    keys = _keys(any_engine)
    assert len(keys) == len(set(keys)) == size + 5
    # ids follow the batches' order, as the drain's FIFO claims expect
    assert keys == [f"digest:7:{k}" for k in [*first, *range(size, size + 5)]]


def test_a_rolled_back_copy_leaves_nothing_and_the_next_transaction_copies(
    any_engine: Engine,
) -> None:
    cid = _content(any_engine)
    size = outboxrows.COPY_FROM + 1
    with pytest.raises(RuntimeError), any_engine.begin() as conn:
        _write(conn, _batch(cid, range(size)))
        raise RuntimeError("the run failed after its first batch")
    assert _keys(any_engine) == []
    assert _put(any_engine, _batch(cid, range(size))) == size
    # two batches in one transaction reuse the loading table
    with any_engine.begin() as conn:
        for start in (size, 2 * size):
            rows = _batch(cid, range(start, start + size))
            assert _write(conn, rows) == size
    assert len(_keys(any_engine)) == 3 * size


def test_enqueue_keeps_each_message_s_own_kind_and_timing(any_engine: Engine) -> None:
    cid = _content(any_engine)
    later = NOW + timedelta(hours=5)
    with any_engine.begin() as conn:
        made = enqueue(
            conn,
            [
                NewMessage("confirm:1", "confirm", "a@example.kr", cid, {"%%TO%%": "a"},
                           expires_in=timedelta(days=2)),
                NewMessage("digest:1:1", "digest", "b@example.kr", cid, not_before=later),
            ],
            now=NOW, domain="example.kr",
        )  # fmt: skip
    assert made == 2
    with any_engine.connect() as conn:
        q = select(outbox).order_by(outbox.c.id)
        rows = {r.dedupe_key: r for r in conn.execute(q)}
    confirm, digest = rows["confirm:1"], rows["digest:1:1"]
    assert (confirm.kind, confirm.next_attempt_at) == ("confirm", NOW)
    assert confirm.expires_at == NOW + timedelta(days=2)
    assert json.loads(confirm.substitutions) == {"%%TO%%": "a"}
    assert (digest.kind, digest.next_attempt_at) == ("digest", later)
    assert digest.expires_at == later + timedelta(hours=24)
    assert json.loads(digest.substitutions) == {}
    assert digest.message_id == message_id_for("digest:1:1", "example.kr")
    assert (digest.status, digest.attempts, digest.created_at) == ("queued", 0, NOW)


@pytest.mark.parametrize("size", [1, outboxrows.COPY_FROM + 1])
def test_bulk_rows_belong_to_the_caller_s_transaction(any_engine: Engine, size: int) -> None:
    """Written on the driver connection, the rows still commit and roll back with the
    caller's transaction, also when they are its first statement (SQLAlchemy's autobegin)."""
    cid = _content(any_engine)
    rows = _batch(cid, range(size))
    with any_engine.connect() as conn:
        _write(conn, rows)
        conn.rollback()
    assert _keys(any_engine) == []
    with any_engine.connect() as conn:
        _write(conn, rows)
        conn.commit()
    assert len(_keys(any_engine)) == size
