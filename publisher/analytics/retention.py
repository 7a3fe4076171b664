"""click_retention: per-reader clicks are deleted, hourly click counts folded into days.

Run daily by the daemon (daemon/jobtable.py, job ``clicks``). What stays after the period
is one count per link, kind and day: no reader, no address, no time of day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from publisher.store import clicks as store_clicks
from publisher.store.types import Engine

# Hours older than this before the cut were folded by an earlier daily run.
FOLD_LOOKBACK = timedelta(days=30)


def apply_retention(engine: Engine, *, now: datetime, retention: timedelta) -> str:
    """Delete and fold what is older than ``retention``; a one-line summary for the log."""
    cut = now - retention
    with engine.begin() as conn:
        readers = store_clicks.purge_reader_clicks(conn, cut)
        hours = store_clicks.fold_hours(conn, cut, cut - FOLD_LOOKBACK)
    return f"{readers} per-reader clicks deleted, {hours} hourly click counts folded into days"
