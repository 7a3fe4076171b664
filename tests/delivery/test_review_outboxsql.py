"""The drain's statements built once with one list parameter (store/outboxsql.py), on SQLite
(a JSON text read by ``json_each``) and PostgreSQL (an array): addresses with quotes,
backslashes and non-ASCII text find their suppression entries, long id lists are chunked,
and ``set_final`` keeps or sets the last reply as asked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from publisher.core.clock import FixedClock
from publisher.messages.enqueue import claim, recheck
from publisher.store import outbox as store_outbox
from publisher.store import suppressions as store_suppressions
from publisher.store.schema import outbox
from tests.outboxkit import fill

# Each is a key a suppression may be stored under (legacy rows are keyed by their lower-cased
# text), and each must be found by the drain's lookup.
ODD = [
    "o'brien@example.kr",
    'quo"te@example.kr',
    "back\\slash@example.kr",
    "독자@example.kr",
    "user@한국.kr",
    "ext@\U00020000.cn",  # a CJK ideograph outside the BMP (a surrogate pair in JSON)
    "smile\U0001f600@example.kr",
    "semi;colon@example.kr",
    "pct%_@example.kr",
]


def test_suppression_lookup_finds_odd_addresses_among_many(
    any_engine: Engine, clock: FixedClock
) -> None:
    plain = [f"reader{i}@example.kr" for i in range(1500)]  # more than one chunk of 1,000
    with any_engine.begin() as conn:
        store_suppressions.add(conn, ODD + plain[::7], reason="unsubscribed", now=clock.now())
    asked = [*plain, *ODD, "USER@xn--3e0b707e.kr", "O'Brien@Example.KR"]
    with any_engine.connect() as conn:
        found = store_outbox.suppressions_for(conn, asked)
    expected = {a.lower() for a in [*ODD, *plain[::7], "USER@xn--3e0b707e.kr"]}
    assert set(found) == expected
    assert found["smile\U0001f600@example.kr"] == {("all", "unsubscribed")}


def test_recheck_stops_a_reader_with_a_non_bmp_domain(
    any_engine: Engine, clock: FixedClock
) -> None:
    fill(any_engine, clock, 3, domain="\U00020000.cn")
    with any_engine.begin() as conn:
        items, _ = claim(conn, owner="d1", now=clock.now(), lease=timedelta(minutes=5), limit=10)
    assert len(items) == 3
    with any_engine.begin() as conn:
        store_suppressions.add(conn, [items[1].recipient], reason="unsubscribed", now=clock.now())
    with any_engine.begin() as conn:
        kept = recheck(conn, items, now=clock.now(), owner="d1")
    assert [i.id for i in kept] == [items[0].id, items[2].id]


def test_set_final_chunks_and_keeps_or_sets_the_reply(
    any_engine: Engine, clock: FixedClock
) -> None:
    fill(any_engine, clock, 2100)
    with any_engine.begin() as conn:
        conn.execute(update(outbox).values(last_reply="451 earlier"))
        items, _ = claim(conn, owner="d1", now=clock.now(), lease=timedelta(minutes=5), limit=3000)
    ids = [i.id for i in items]
    assert len(ids) == 2100
    with any_engine.begin() as conn:
        assert (
            store_outbox.set_final(conn, ids[:1500], status="sent", now=clock.now(), owner="d1")
            == 1500
        )
        assert (
            store_outbox.set_final(conn, ids[:1500], status="sent", now=clock.now(), owner="d1")
            == 0
        )
        n = store_outbox.set_final(
            conn, ids[1500:], status="failed", now=clock.now(), reply="550 no"
        )
        assert n == 600
    with any_engine.connect() as conn:
        q = select(outbox.c.id, outbox.c.last_reply)
        rows: dict[int, str | None] = {int(i): r for i, r in conn.execute(q)}
        sent_at = conn.execute(select(outbox.c.sent_at).where(outbox.c.id == ids[0])).scalar()
    assert {rows[i] for i in ids[:1500]} == {"451 earlier"}  # reply=None: left as it was
    assert {rows[i] for i in ids[1500:]} == {"550 no"}
    assert sent_at is not None


def test_purge_deletes_only_old_finished_rows_whatever_their_age(
    any_engine: Engine, clock: FixedClock
) -> None:
    from publisher.messages import outboxstatus

    live = ("queued", "sending", "deferred")
    final = ("sent", "failed", "suppressed", "expired")
    fill(any_engine, clock, 70)
    old, cutoff = clock.now() - timedelta(days=30), clock.now() - timedelta(days=7)
    with any_engine.begin() as conn:
        for i, status in enumerate((*live, *final) * 10):
            when = old if i % 2 else cutoff  # at the cutoff itself: kept
            conn.execute(
                update(outbox).where(outbox.c.id == i + 1).values(status=status, updated_at=when)
            )
    rows, _ = outboxstatus.purge(any_engine, before=cutoff, batch=4)
    with any_engine.connect() as conn:
        left = conn.execute(select(outbox.c.status, outbox.c.updated_at)).all()
    assert rows == 20  # the old half of the 40 finished rows
    assert sorted(s for s, _ in left).count("queued") == 10
    assert {s for s, _ in left} == {*live, *final}
    assert all(s in live or u == cutoff for s, u in left)


def test_renew_and_release_take_lists_over_a_chunk(any_engine: Engine, clock: FixedClock) -> None:
    fill(any_engine, clock, 2100)
    with any_engine.begin() as conn:
        items, _ = claim(conn, owner="d1", now=clock.now(), lease=timedelta(minutes=5), limit=3000)
    ids = [i.id for i in items]
    later = clock.now() + timedelta(hours=1)
    with any_engine.begin() as conn:
        renewed = store_outbox.renew(conn, ids, owner="d1", lease_until=later, now=clock.now())
        assert renewed == set(ids)
        assert (
            store_outbox.renew(conn, ids, owner="d2", lease_until=later, now=clock.now()) == set()
        )
        store_outbox.release(conn, ids[:1200], now=clock.now(), owner="d1")
    with any_engine.connect() as conn:
        queued = conn.execute(select(outbox.c.id).where(outbox.c.status == "queued")).scalars()
        assert sorted(queued) == ids[:1200]
