"""A share form is used up in the transaction that queues its message: SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.messages import fanout
from publisher.readers import sharing
from tests.digestkit import NOW, load_store
from tests.webkit import outbox_rows

LIMITS = sharing.Limits(per_ip_hour=99, per_recipient_day=99, site_day=99)


def _send(engine: Engine, settings: Settings, share: sharing.Share) -> str:
    identity = fanout.Identity.from_settings(settings)
    templates = sharing.Templates(fanout.renderer_for(settings), identity)
    try:
        return sharing.send(engine, identity, templates, share, limits=LIMITS, now=NOW)
    except sharing.FormUsed:
        return "used"


def test_a_form_queues_once_even_when_sent_twice_at_once(
    any_engine: Engine, settings: Settings
) -> None:
    load_store(any_engine)
    share = sharing.Share(
        "a0001", "friend@example.kr", "김민수", "안녕", "203.0.113.9",
        form_nonce=12345, form_expires=NOW + timedelta(hours=2),
    )  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(lambda _: _send(any_engine, settings, share), range(2)))
    assert results == ["sent", "used"]
    assert _send(any_engine, settings, share) == "used"
    other = replace(share, form_nonce=12346)
    assert _send(any_engine, settings, other) == "sent"
    assert len(outbox_rows(any_engine, "share")) == 2


def test_a_rate_limited_share_leaves_its_form_usable(
    any_engine: Engine, settings: Settings
) -> None:
    load_store(any_engine)
    identity = fanout.Identity.from_settings(settings)
    templates = sharing.Templates(fanout.renderer_for(settings), identity)
    share = sharing.Share(
        "a0001", "friend@example.kr", "김민수", "", "203.0.113.9",
        form_nonce=7, form_expires=NOW + timedelta(hours=2),
    )  # fmt: skip
    none = sharing.Limits(per_ip_hour=0, per_recipient_day=9, site_day=9)
    with pytest.raises(sharing.RateLimited):
        sharing.send(any_engine, identity, templates, share, limits=none, now=NOW)
    assert _send(any_engine, settings, share) == "sent"
