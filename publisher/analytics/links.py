"""Tracked links: ``{public_base_url}/c/TOKEN``, made once per rendered variant.

A TOKEN is a signed id list (core/tokens.py, purpose ``click``): run, variant, position and
article, never the reader. Every mail kind that lists articles (digests and breaking-news
alerts) builds a ``ClickLinks`` for each variant it renders and hands it to the renderer as
its ``link_for``; the renderer asks it for one href per listed article, in order.

An alert's clicks are counted under the run id ``-alert_id`` (``alert_run``): the tables and
the counting need no second key, and a digest run's report (ids > 0) never includes them. The
token itself carries only non-negative ids, the alert's id and a fifth id, ``ALERT_MARK``.

With ``track_per_reader`` the href ends in a placeholder, ``%%CLICK_READER%%``, which the
outbox row fills per recipient with ``/`` + a signed reader token (or nothing, for a reader
who opted out), so the stored bytes stay one per variant and personalisation stays a splice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.core import tokens

CLICK_PATH = "/c/"
OPEN_PATH = "/o/"
READER_PLACEHOLDER = "%%CLICK_READER%%"
# A link names (run, variant, position, article); an open pixel (run, variant, 0, 0).
Target = tuple[int, int, int, int]
ALERT_MARK = 1  # the fifth id of an alert's token


def alert_run(alert_id: int) -> int:
    """The run id an alert's clicks are counted under (negative: never a digest run's)."""
    return -alert_id


def _ids(run_id: int, variant: int, position: int, article_id: int) -> tuple[int, ...]:
    if run_id < 0:
        return (-run_id, variant, position, article_id, ALERT_MARK)
    return (run_id, variant, position, article_id)


@dataclass(frozen=True, slots=True)
class ClickLinks:
    """The tracked hrefs of one rendered variant of one run (or alert)."""

    base_url: str
    secret: str
    run_id: int
    variant: int
    now: datetime
    per_reader: bool = False

    def __call__(self, article_id: int, position: int) -> str:
        """The href for the article listed at ``position`` (1-based, in reading order)."""
        ids = _ids(self.run_id, self.variant, position, article_id)
        token = tokens.make(self.secret, "click", ids, now=self.now)
        suffix = READER_PLACEHOLDER if self.per_reader else ""
        return f"{self.base_url.rstrip('/')}{CLICK_PATH}{token}{suffix}"

    def open_pixel(self) -> str:
        """The open pixel's src (``track_opens``): names the run and variant only."""
        ids = _ids(self.run_id, self.variant, 0, 0)
        token = tokens.make(self.secret, "click", ids, now=self.now)
        suffix = READER_PLACEHOLDER if self.per_reader else ""
        return f"{self.base_url.rstrip('/')}{OPEN_PATH}{token}{suffix}"


def reader_value(secret: str, subscriber_id: int, *, opted_out: bool, now: datetime) -> str:
    """What ``%%CLICK_READER%%`` becomes for one recipient: ``/TOKEN``, or "" (opted out)."""
    if opted_out or subscriber_id <= 0:
        return ""
    return "/" + tokens.make(secret, "click-reader", (subscriber_id,), now=now)


def read_target(secret: str, token: str, *, now: datetime) -> Target:
    """The (run, variant, position, article) of a click token; TokenError if forged."""
    ids = tokens.read(secret, "click", token, now=now)
    if len(ids) == 5 and ids[4] == ALERT_MARK and ids[0] > 0:
        return alert_run(ids[0]), ids[1], ids[2], ids[3]
    if len(ids) != 4:
        raise tokens.TokenError("not a valid click token")
    return ids[0], ids[1], ids[2], ids[3]


def read_reader(secret: str, token: str, *, now: datetime) -> int:
    """The subscriber id of a reader token; TokenError if forged."""
    return read_reader_issued(secret, token, now=now)[0]


def read_reader_issued(secret: str, token: str, *, now: datetime) -> tuple[int, datetime]:
    """The subscriber id of a reader token and when it was issued (whole seconds, UTC);
    TokenError if forged.

    The id alone is not the reader: SQLite gives a deleted subscriber's id to the next
    sign-up, so a click is the holder's only if their row is no newer than the token (the
    flush checks it, store/clicks.py, as readers/signup.py's ``_holder`` does for links)."""
    ids, issued = tokens.read_issued(secret, "click-reader", token, now=now)
    if len(ids) != 1:
        raise tokens.TokenError("not a valid reader token")
    return ids[0], issued
