"""What a digest run (or any mail that lists articles) needs to track its links.

``Tracking.start`` is called once per run; ``render_args(variant)`` gives the renderer the
variant's tracked links, and ``extra`` the per-recipient value of the reader part (only with
``track_per_reader``, and empty for readers who opted out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from publisher.analytics.links import READER_PLACEHOLDER, ClickLinks, reader_value
from publisher.core.config import Settings
from publisher.store import clicks as store_clicks
from publisher.store.subscribers import Recipient
from publisher.store.types import Connection


@dataclass(frozen=True, slots=True)
class Tracking:
    settings: Settings
    secret: str
    run_id: int
    now: datetime
    opted_out: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def start(
        cls, conn: Connection, settings: Settings, secret: str, *, run_id: int, now: datetime
    ) -> Tracking:
        out = store_clicks.opted_out_ids(conn) if settings.track_per_reader else set()
        return cls(settings, secret, run_id, now, frozenset(out))

    @property
    def per_reader(self) -> bool:
        return self.settings.track_clicks and self.settings.track_per_reader

    def links(self, variant: int) -> ClickLinks:
        return ClickLinks(
            base_url=self.settings.public_base_url, secret=self.secret, run_id=self.run_id,
            variant=variant, now=self.now, per_reader=self.per_reader,
        )  # fmt: skip

    def render_args(self, variant: int) -> dict[str, Any]:
        """DigestInput's tracking fields for one variant (none when tracking is off)."""
        if not self.settings.track_clicks:
            return {}
        links = self.links(variant)
        return {
            "link_for": links,
            "open_pixel": links.open_pixel() if self.settings.track_opens else "",
            "per_reader_note": self.per_reader,
        }

    @property
    def extra(self) -> Callable[[Recipient], dict[str, str]] | None:
        if not self.per_reader:
            return None

        def values(r: Recipient) -> dict[str, str]:
            value = reader_value(self.secret, r.id, opted_out=r.id in self.opted_out, now=self.now)
            return {READER_PLACEHOLDER: value}

        return values
