"""What follows a bulk enqueue, once its rows are committed: the outbox's statistics."""

from __future__ import annotations

import logging

from publisher.store import outbox as store_outbox
from publisher.store.db import StoreError
from publisher.store.types import Engine

log = logging.getLogger("publisher.messages.bulk")

# A write of this many new rows or more refreshes the outbox's planner statistics once it is
# committed: below it, the queue grows too little to turn the claim's plan.
BULK_ROWS = 10_000


def after_bulk(engine: Engine, new_rows: int) -> None:
    """Call after committing ``new_rows`` rows: from ``BULK_ROWS`` on, the outbox's statistics
    are refreshed (store/outbox.refresh_planner_stats: on PostgreSQL, so that the claims of
    the send walk their index where the outbox had no statistics yet). The rows are
    committed already: a failure here is a WARNING, and the send goes on regardless."""
    if new_rows < BULK_ROWS:
        return
    try:
        if store_outbox.refresh_planner_stats(engine):
            log.info("outbox statistics refreshed after %d new rows", new_rows)
    except StoreError as exc:
        log.warning("outbox statistics not refreshed after %d new rows: %s", new_rows, exc)
