"""The web's store pieces (counters, share log, signup, one share) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from publisher.consent.record import Act
from publisher.core import tokens
from publisher.core.config import Settings
from publisher.messages import fanout
from publisher.readers import sharing, signup
from publisher.store import ratecounters, sharelog
from tests.digestkit import NOW, add_subscriber, load_store
from tests.webkit import link_in, message_of, outbox_rows, subscriber_status, suppressed


def test_counters_count_per_key_and_window(any_engine: Engine) -> None:
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    with any_engine.begin() as conn:
        assert [ratecounters.bump(conn, "k", hour) for _ in range(3)] == [1, 2, 3]
        assert ratecounters.bump(conn, "k", hour + timedelta(hours=1)) == 1
        assert ratecounters.bump(conn, "other", hour) == 1
        assert ratecounters.prune_counters(conn, before=hour + timedelta(minutes=1)) == 2


def test_signup_and_share_round_trip(any_engine: Engine, settings: Settings) -> None:
    load_store(any_engine)
    identity = fanout.Identity.from_settings(settings)
    renderer = fanout.renderer_for(settings)
    mail = signup.ConfirmMail.render(identity, renderer, "ko")
    assert signup.subscribe(
        any_engine, identity, mail, email="new@example.kr", name="N",
        sections=["politics"], frequency="daily", language="ko", now=NOW, cap_per_day=3,
    )  # fmt: skip
    [row] = outbox_rows(any_engine, "confirm")
    assert row["expires_at"] - row["created_at"] == timedelta(days=3)  # expiry_confirm
    sid = int(row["dedupe_key"].split(":")[1])
    token = link_in(message_of(any_engine, row), "confirm").rpartition("/")[2]
    legacy = tokens.make(identity.secret, "confirm", (sid,), now=NOW)  # no request nonce
    assert not signup.confirm(any_engine, identity.secret, legacy, now=NOW)
    assert signup.confirm(any_engine, identity.secret, token, now=NOW)
    assert not signup.confirm(any_engine, identity.secret, token, now=NOW)
    signup.unsubscribe_id(any_engine, sid, now=NOW, act=Act("cli", "k"))
    signup.unsubscribe_id(any_engine, sid, now=NOW, act=Act("cli", "k"))  # idempotent
    assert subscriber_status(any_engine, "new@example.kr") == "unsubscribed"
    assert suppressed(any_engine, "new@example.kr") == [("all", "unsubscribed")]

    templates = sharing.Templates(renderer, identity)
    share = sharing.Share("a0001", "friend@example.kr", "김민수", "안녕", "203.0.113.9")
    limits = sharing.Limits(per_ip_hour=2, per_recipient_day=9, site_day=9)
    kw = {"limits": limits, "now": NOW}
    assert sharing.send(any_engine, identity, templates, share, **kw) == "sent"  # type: ignore[arg-type]
    assert sharing.send(any_engine, identity, templates, share, **kw) == "sent"  # type: ignore[arg-type]
    with pytest.raises(sharing.RateLimited):
        sharing.send(any_engine, identity, templates, share, **kw)  # type: ignore[arg-type]
    missing = sharing.Share("nope", "friend@example.kr", "김", "", "203.0.113.10")
    assert sharing.send(any_engine, identity, templates, missing, **kw) == "missing"  # type: ignore[arg-type]
    shared = outbox_rows(any_engine, "share")
    assert len(shared) == 2
    assert {r["expires_at"] - r["created_at"] for r in shared} == {timedelta(days=1)}
    with any_engine.connect() as conn:
        assert [s["article_id"] for s in sharelog.shares(conn)] == ["a0001", "a0001"]


def test_delete_keeps_only_a_suppression(any_engine: Engine) -> None:
    sid = add_subscriber(any_engine, "gone@example.kr", ("politics",))
    signup.delete(any_engine, sid, now=NOW, act=Act("cli", "k"))
    assert subscriber_status(any_engine, "gone@example.kr") is None
    assert suppressed(any_engine, "gone@example.kr") == [("all", "deleted")]
