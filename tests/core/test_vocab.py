"""The vocabularies are named once: the run-time lists come from the Literal aliases."""

from __future__ import annotations

from typing import get_args

from publisher.core.vocab import OutboxKind, OutboxStatus, SubscriberStatus, pick
from publisher.messages import enqueue
from publisher.readers import subscribers


def test_runtime_lists_are_the_literals() -> None:
    assert (
        enqueue.KINDS
        == get_args(OutboxKind)
        == ("digest", "confirm", "share", "test", "alert", "reconfirm")
    )
    assert get_args(OutboxStatus) == enqueue.STATUSES
    assert get_args(SubscriberStatus) == subscribers.ALL_STATUSES
    assert set(subscribers.STATUSES) < set(subscribers.ALL_STATUSES)


def test_pick_answers_the_member_or_none() -> None:
    assert pick("share", enqueue.KINDS) == "share"
    assert pick("Share", enqueue.KINDS) is None
    assert pick(None, enqueue.KINDS) is None
