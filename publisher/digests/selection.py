"""Pure selection for a digest run: the window, the new articles, the most viewed, variants.

Time is a parameter. The window end derives from the *scheduled* fire time, not from the
wall clock, so a double fire or two daemons compute the same run key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from publisher.core.models import Article, RankedArticle, Section, SectionGroup, Selection
from publisher.core.schedules import Digest
from publisher.store import articles as store_articles
from publisher.store import pageviews as store_pageviews
from publisher.store.subscribers import Recipient
from publisher.store.types import Connection

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOOKBACKS = (timedelta(hours=2), timedelta(days=2), timedelta(days=8), timedelta(days=32))


@dataclass(frozen=True, slots=True)
class Window:
    digest_id: str
    start: datetime  # exclusive
    end: datetime  # inclusive; with digest_id, the run key
    due: datetime  # the scheduled fire time this run answers


@dataclass(frozen=True, slots=True)
class Plan:
    action: Literal["run", "stale", "done", "nothing-due"]
    window: Window | None
    reason: str = ""


def latest_due(digest: Digest, *, tz: tzinfo, now: datetime) -> datetime | None:
    """The last scheduled fire time at or before ``now``."""
    step = digest.every_span
    if step is not None:
        # Aligned to the epoch, so every process agrees without shared state.
        return EPOCH + ((now - EPOCH) // step) * step
    trigger = digest.trigger(tz)
    for lookback in _LOOKBACKS:
        last: datetime | None = None
        fire = trigger.get_next_fire_time(None, now - lookback)
        while fire is not None and fire <= now:
            last = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if last is not None:
            return last.astimezone(UTC)
    return None


def plan_run(digest: Digest, *, tz: tzinfo, now: datetime, last_end: datetime | None) -> Plan:
    """Which run (if any) is due now: ``(last_end, due - settle]``; one catch-up, never N."""
    due = latest_due(digest, tz=tz, now=now)
    if due is None:
        return Plan("nothing-due", None, "no scheduled time yet")
    end = due - digest.settle
    start = last_end if last_end is not None else end - digest.first_span
    window = Window(digest_id=digest.id, start=start, end=end, due=due)
    if last_end is not None and end <= last_end:
        return Plan("done", window, "this window has already run")
    late = now - due
    if late > digest.stale_span:
        return Plan(
            "stale", window, f"{late} after its due time (stale_after {digest.stale_after})"
        )
    return Plan("run", window)


def plan_now(digest: Digest, *, tz: tzinfo, now: datetime, last_sent: datetime | None) -> Plan:
    """An operator's run (``digest run --now``): the window ``(last_sent, now]``.

    ``last_sent`` is the end of the last run that sent (not one skipped as stale), so a
    morning the scheduler skipped is part of it. Its end is never the end of a scheduled
    window (1 µs earlier if it would be), so the two kinds of run never share a run key; the
    next scheduled run then starts where this one ended, and no article is sent twice.
    """
    end = now
    due = latest_due(digest, tz=tz, now=now + digest.settle)
    if due is not None and due - digest.settle == end:
        end -= timedelta(microseconds=1)
    start = last_sent if last_sent is not None else end - digest.first_span
    window = Window(digest_id=digest.id, start=start, end=end, due=now)
    if last_sent is not None and end == last_sent:  # the same manual run again
        return Plan("done", window, "this run key has already run")
    if last_sent is not None and end < last_sent:
        return Plan("nothing-due", None, f"runs already sent up to {last_sent.isoformat()}")
    return Plan("run", window, "manual run (--now)")


@dataclass(slots=True)
class Variant:
    sections: tuple[str, ...] | None  # None: every section (and articles without one)
    selection: Selection
    recipients: list[Recipient] = field(default_factory=list)
    # Its stored content's key part; computed once, as a run asks it once per reader.
    key: str = field(init=False)

    def __post_init__(self) -> None:
        raw = "*" if self.sections is None else ",".join(self.sections)
        self.key = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def new_articles(conn: Connection, digest: Digest, window: Window) -> list[Article]:
    wanted = None if digest.sections == "all" else list(digest.sections)
    return store_articles.registered_between(
        conn, after=window.start, until=window.end, sections_in=wanted
    )


def most_viewed_for(
    conn: Connection, digest: Digest, window: Window, weights: Mapping[str, float] | None = None
) -> list[RankedArticle]:
    mv = digest.most_viewed
    if mv.count == 0:
        return []
    extra = digest.max_items if mv.exclude_listed else 0
    return store_pageviews.top_articles(
        conn, now=window.end, window=mv.span, limit=mv.count + extra, weights=weights
    )


def chosen_sections(
    subscriber: Sequence[str], digest: Digest, known: Sequence[str]
) -> tuple[str, ...] | None:
    """Subscriber choice ∩ digest sections; an empty choice means every section."""
    mine = set(subscriber) or None
    theirs = None if digest.sections == "all" else set(digest.sections)
    if mine is None and theirs is None:
        return None
    both = mine & theirs if mine is not None and theirs is not None else mine or theirs or set()
    if theirs is None and set(known) <= both:
        return None
    return tuple(s for s in known if s in both) + tuple(sorted(both - set(known)))


def select_for(
    *,
    sections: tuple[str, ...] | None,
    articles: Sequence[Article],
    ranked: Sequence[RankedArticle],
    order: Sequence[Section],
    digest: Digest,
) -> Selection:
    """Newest first, capped by max_items, then grouped by section in the configured order."""
    wanted = None if sections is None else set(sections)
    mine = [a for a in articles if wanted is None or a.section in wanted]
    mine.sort(key=lambda a: (a.published_at, a.id or 0), reverse=True)
    listed, dropped = mine[: digest.max_items], len(mine) - min(len(mine), digest.max_items)
    names = {s.slug: s.name for s in order}
    slugs = [s.slug for s in order] + sorted({a.section for a in listed if a.section} - set(names))
    groups = [
        SectionGroup(slug, names.get(slug, slug), tuple(a for a in listed if a.section == slug))
        for slug in slugs
    ]
    orphans = tuple(a for a in listed if a.section is None)
    if orphans:
        groups.append(SectionGroup(None, None, orphans))
    top = list(ranked)
    if digest.most_viewed.exclude_listed:
        shown = {a.id for a in listed}
        top = [r for r in top if r.article.id not in shown]
    top = [
        RankedArticle(rank=i, article=r.article, views=r.views)
        for i, r in enumerate(top[: digest.most_viewed.count], start=1)
    ]
    return Selection(tuple(g for g in groups if g.articles), tuple(top), dropped)


def group_variants(
    *,
    recipients: Iterable[Recipient],
    articles: Sequence[Article],
    ranked: Sequence[RankedArticle],
    order: Sequence[Section],
    digest: Digest,
) -> tuple[list[Variant], int]:
    """Variants that have something to send, and how many recipients got nothing."""
    grouper = Grouper(articles=articles, ranked=ranked, order=order, digest=digest)
    for r in recipients:
        variant = grouper.variant_for(r)
        if variant is not None:
            variant.recipients.append(r)
    return grouper.variants, grouper.skipped


class Grouper:
    """``group_variants`` one recipient at a time, for a run that streams its readers: the
    variant a reader gets is decided by their section choice alone, so nobody is held."""

    def __init__(
        self,
        *,
        articles: Sequence[Article],
        ranked: Sequence[RankedArticle],
        order: Sequence[Section],
        digest: Digest,
    ) -> None:
        self._articles, self._ranked, self._order, self._digest = articles, ranked, order, digest
        self._known = [s.slug for s in order]
        self._by_choice: dict[tuple[str, ...], Variant | None] = {}
        self._by_key: dict[tuple[str, ...] | None, Variant | None] = {}
        self.variants: list[Variant] = []  # those with something to send, first seen first
        self.skipped = 0  # recipients whose variant has nothing to send

    def variant_for(self, r: Recipient) -> Variant | None:
        """The reader's variant, or None (counted in ``skipped``) when it sends nothing."""
        if r.sections in self._by_choice:
            found = self._by_choice[r.sections]
        else:
            found = self._by_choice[r.sections] = self._variant(
                chosen_sections(r.sections, self._digest, self._known)
            )
        if found is None:
            self.skipped += 1
        return found

    def _variant(self, key: tuple[str, ...] | None) -> Variant | None:
        if key in self._by_key:
            return self._by_key[key]
        sel = select_for(sections=key, articles=self._articles, ranked=self._ranked,
                         order=self._order, digest=self._digest)  # fmt: skip
        empty = sel.item_count == 0 and not sel.most_viewed
        variant = None
        if not (key == () or empty or sel.item_count < self._digest.min_items):
            variant = Variant(sections=key, selection=sel)
            self.variants.append(variant)
        self._by_key[key] = variant
        return variant
