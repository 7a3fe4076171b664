"""A digest's "[TEST]" copy: what a run would send, to one address, now (outbox kind
``test``); records no run."""

from __future__ import annotations

from datetime import datetime

from publisher.core.config import Settings
from publisher.core.schedules import Schedules
from publisher.digests.pipeline import preview
from publisher.messages import fanout, mime
from publisher.store import subscribers as store_subscribers
from publisher.store.types import Engine


def send_test(
    engine: Engine,
    settings: Settings,
    schedules: Schedules,
    digest_id: str,
    *,
    to: str,
    now: datetime,
    at: datetime | None = None,
) -> int:
    """Enqueue one "[TEST]" copy of what a run at ``at`` (default now) would send (the
    all-sections variant).

    The copy is dated, signed and enqueued at ``now``, the real time: a copy enqueued at a
    future ``at`` would wait for it, one at a past ``at`` would be expired before it is sent.
    """
    identity = fanout.Identity.from_settings(settings)
    digest = schedules.digest(digest_id)
    pv = preview(engine, settings, schedules, digest_id, now=at or now, test_to=to)
    body = mime.compose(
        rendered=pv.rendered, sender=identity.sender, date=now,
        list_info=identity.list_info(digest.name, digest.id),
    )  # fmt: skip
    key = f"test:{digest.id}:{now.isoformat()}:{to}"
    with engine.begin() as conn:
        # A subscriber's own copy carries their working links; another address's links name
        # no reader (id 0) and say so when followed.
        known = store_subscribers.get_by_email(conn, to)
        recipient = store_subscribers.Recipient(
            id=known.id if known else 0, email=to, name=known.name if known else "",
            sections=(), language=None,
        )  # fmt: skip
        return fanout.store_and_enqueue(
            conn, identity, body=body, content_key=key, recipients=[recipient],
            dedupe_prefix=f"{key}:", kind="test", now=now,
        )  # fmt: skip
