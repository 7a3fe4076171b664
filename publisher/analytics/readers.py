"""The reader's side of per-reader click tracking: opting out, and what "my data" shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.store import clicks as store_clicks
from publisher.store.types import Engine


@dataclass(frozen=True, slots=True)
class ClickRecord:
    """One recorded click of a reader, as "my data" lists it."""

    at: datetime
    run_id: int
    position: int
    article_title: str
    article_url: str


def set_click_opt_out(
    engine: Engine, subscriber_id: int, opted_out: bool, *, now: datetime
) -> None:
    """Turn per-reader click tracking off (forgetting what was recorded) or back on."""
    with engine.begin() as conn:
        store_clicks.set_opt_out(conn, subscriber_id, opted_out, now)


def click_opted_out(engine: Engine, subscriber_id: int) -> bool:
    with engine.connect() as conn:
        return store_clicks.is_opted_out(conn, subscriber_id)


def my_clicks(engine: Engine, subscriber_id: int) -> list[ClickRecord]:
    """The reader's recorded clicks (only kept with track_per_reader, for click_retention)."""
    with engine.connect() as conn:
        rows = store_clicks.reader_history(conn, subscriber_id)
        info = store_clicks.articles_info(conn, [r.article_id for r in rows])
    return [
        ClickRecord(
            at=r.at,
            run_id=r.run_id,
            position=r.position,
            article_title=info[r.article_id].title if r.article_id in info else "",
            article_url=info[r.article_id].url if r.article_id in info else "",
        )
        for r in rows
    ]
