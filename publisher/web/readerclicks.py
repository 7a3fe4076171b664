"""The preferences page's part of per-reader click tracking (``track_per_reader``): the
opt-out switch, and the reader's clicks in "my data"."""

from __future__ import annotations

from typing import Any

from publisher.analytics.readers import click_opted_out, my_clicks, set_click_opt_out
from publisher.web.context import WebContext

ACTIONS = ("clicks_off", "clicks_on")


def tracking_state(ctx: WebContext, subscriber_id: int) -> dict[str, Any] | None:
    """What the page shows: None when per-reader tracking is off for the whole site."""
    if not ctx.settings.track_per_reader:
        return None
    days = ctx.settings.click_retention.days
    return {"opted_out": click_opted_out(ctx.engine, subscriber_id), "days": days}


def apply(ctx: WebContext, subscriber_id: int, action: str) -> None:
    set_click_opt_out(ctx.engine, subscriber_id, action == "clicks_off", now=ctx.now())


def my_data(ctx: WebContext, subscriber_id: int) -> dict[str, Any]:
    """The "clicks" part of the export: every recorded click, when tracking is on."""
    if not ctx.settings.track_per_reader:
        return {}
    return {
        "click_tracking": "off" if click_opted_out(ctx.engine, subscriber_id) else "on",
        "clicks": [
            # An alert's clicks are kept under a negative run id (analytics/links.py).
            {"at": c.at.isoformat(), "mail": "digest" if c.run_id > 0 else "alert",
             "run" if c.run_id > 0 else "alert": abs(c.run_id), "position": c.position,
             "article": c.article_title, "url": c.article_url}
            for c in my_clicks(ctx.engine, subscriber_id)
        ],
    }  # fmt: skip
