"""The named jobs: each strings the stages together, collect → render → compose → outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from publisher.analytics.tracking import Tracking
from publisher.core.config import Settings
from publisher.core.errors import InputError, PublisherError
from publisher.core.models import Article, RankedArticle, Selection
from publisher.core.schedules import Digest, Schedules
from publisher.core.vocab import RunOutcome, RunStatus
from publisher.digests import selection
from publisher.messages import enqueue, fanout, mime
from publisher.render.templates import DigestInput, Links, RenderedEmail
from publisher.store import articles as store_articles
from publisher.store import digest_runs
from publisher.store import subscribers as store_subscribers
from publisher.store.types import Connection, Engine

log = logging.getLogger("publisher.digests.pipeline")


class NothingDue(PublisherError):
    """A preview asked for a moment when no window is due; the message says why."""


@dataclass(frozen=True, slots=True)
class RunResult:
    status: RunOutcome
    digest_id: str
    window: selection.Window | None = None
    run_id: int | None = None
    items: int = 0
    most_viewed: int = 0
    variants: int = 0
    recipients: int = 0
    enqueued: int = 0
    skipped_recipients: int = 0
    note: str = ""


def _input(
    digest: Digest, window: selection.Window, picked: Selection, links: Links, **kw: Any
) -> DigestInput:
    return DigestInput(
        digest_id=digest.id, digest_name=digest.name, subject_template=digest.subject,
        template=digest.template, date=window.due, selection=picked, links=links, **kw,
    )  # fmt: skip


def run_digest(
    engine: Engine,
    settings: Settings,
    schedules: Schedules,
    digest_id: str,
    *,
    now: datetime,
    manual: bool = False,
    queued_at: datetime | None = None,
) -> RunResult:
    """Perform the run due at ``now``, once per (digest id, window end), in one transaction.

    ``manual``: an operator's run whose window ends at ``now`` (see selection.plan_now).
    ``queued_at``: the real time, when an operator replays a past ``now`` (``--at``): the
    messages are dated and queued then, so their expiry runs from now, not from the past.
    """
    queued = queued_at or now
    digest = schedules.digest(digest_id)
    identity = fanout.Identity.from_settings(settings)
    with engine.begin() as conn:
        if manual:
            last_sent = digest_runs.last_window_end(conn, digest.id, digest_runs.SENDING)
            plan = selection.plan_now(digest, tz=schedules.tz, now=now, last_sent=last_sent)
        else:
            last_end = digest_runs.last_window_end(conn, digest.id)
            plan = selection.plan_run(digest, tz=schedules.tz, now=now, last_end=last_end)
        w = plan.window
        if w is None:
            return RunResult("nothing-due", digest.id, note=plan.reason)
        if plan.action == "done":
            return _already(conn, digest.id, w)
        status: RunStatus = "stale" if plan.action == "stale" else "running"
        run_id = digest_runs.claim(
            conn, digest_id=digest.id, window_start=w.start, window_end=w.end, due_at=w.due,
            status=status, now=now, note=plan.reason,
        )  # fmt: skip
        if run_id is None:  # another process holds this run key
            return _already(conn, digest.id, w)
        if plan.action == "stale":
            log.warning("digest %s: run due %s skipped: %s", digest.id, w.due, plan.reason)
            return RunResult("stale", digest.id, w, run_id, note=plan.reason)
        articles = selection.new_articles(conn, digest, w)
        if len(articles) < digest.min_items:
            note = f"{len(articles)} new articles < min_items {digest.min_items}"
            log.info("digest %s: window ending %s skipped: %s", digest.id, w.end, note)
            digest_runs.finish(conn, run_id, status="too_few", item_count=len(articles), note=note)
            return RunResult("too_few", digest.id, w, run_id, items=len(articles), note=note)
        result = _enqueue_run(conn, settings, identity, digest, w, run_id, articles, queued)
    log.info(
        "digest %s: run %d window (%s, %s]: %d items, %d variants, %d enqueued",
        digest.id, run_id, w.start, w.end, result.items, result.variants, result.enqueued,
    )  # fmt: skip
    return result


def _enqueue_run(
    conn: Connection, settings: Settings, identity: fanout.Identity, digest: Digest,
    w: selection.Window, run_id: int, articles: list[Article], queued: datetime,
) -> RunResult:  # fmt: skip
    """Render each variant, queue it for its recipients, and keep the full issue as the
    run's archive (in the run's transaction)."""
    ranked = selection.most_viewed_for(conn, digest, w, settings.most_viewed_sources)
    order = store_articles.list_sections(conn)
    people = store_subscribers.recipients(conn, frequency=digest.frequency)
    variants, skipped = selection.group_variants(
        recipients=people, articles=articles, ranked=ranked, order=order, digest=digest
    )
    renderer = fanout.renderer_for(settings)
    archive_url = identity.archive_url(digest.id, run_id)
    links = Links(view_in_browser=archive_url, **fanout.personal_links())
    list_info = identity.list_info(digest.name, digest.id)
    prefix = digest_runs.dedupe_prefix(digest.id, run_id)
    tracking = Tracking.start(conn, settings, identity.secret, run_id=run_id, now=queued)
    enqueued = 0
    for number, v in enumerate(variants, start=1):
        rendered = renderer.digest(
            _input(digest, w, v.selection, links, **tracking.render_args(number))
        )
        body = mime.compose(
            rendered=rendered, sender=identity.sender, date=queued, list_info=list_info
        )
        enqueued += fanout.store_and_enqueue(
            conn, identity, body=body, content_key=f"{prefix}{v.key}",
            recipients=v.recipients, dedupe_prefix=prefix, kind="digest", now=queued,
            extra=tracking.extra,
        )  # fmt: skip
    full = selection.select_for(
        sections=None, articles=articles, ranked=ranked, order=order, digest=digest
    )
    archive = renderer.digest(
        _input(digest, w, full, Links(view_in_browser=archive_url), archive=True)
    )
    recipients = sum(len(v.recipients) for v in variants)
    digest_runs.finish(
        conn, run_id, status="enqueued", item_count=len(articles),
        most_viewed_count=len(full.most_viewed), variant_count=len(variants),
        recipient_count=recipients, subject=archive.subject, archive_html=archive.html,
    )  # fmt: skip
    return RunResult(
        "enqueued", digest.id, w, run_id, items=len(articles), most_viewed=len(full.most_viewed),
        variants=len(variants), recipients=recipients, enqueued=enqueued,
        skipped_recipients=skipped,
    )  # fmt: skip


def _already(conn: Connection, digest_id: str, w: selection.Window) -> RunResult:
    row = digest_runs.get_run(conn, digest_id, w.end)
    return RunResult(
        "already", digest_id, w, row.id if row else None, items=row.item_count if row else 0,
        recipients=row.recipient_count if row else 0, note="this run key has already run",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Preview:
    window: selection.Window
    rendered: RenderedEmail
    eml: bytes  # personalised, as the recipient would receive it
    items: int
    most_viewed: list[RankedArticle]
    variants: int
    recipients: int
    sections: tuple[str, ...] | None = None
    notes: list[str] = field(default_factory=list)


def preview(
    engine: Engine,
    settings: Settings,
    schedules: Schedules,
    digest_id: str,
    *,
    now: datetime,
    as_email: str | None = None,
    test_to: str | None = None,
) -> Preview:
    """Render what a run at ``now`` would send (to ``as_email``'s variant), without sending."""
    digest = schedules.digest(digest_id)
    identity = fanout.Identity.from_settings(settings)
    with engine.connect() as conn:
        last_end = digest_runs.last_window_end(conn, digest.id)
        plan = selection.plan_run(digest, tz=schedules.tz, now=now, last_end=last_end)
        if plan.window is None:
            raise NothingDue(f"digest {digest.id}: {plan.reason}")
        w = plan.window
        articles = selection.new_articles(conn, digest, w)
        ranked = selection.most_viewed_for(conn, digest, w, settings.most_viewed_sources)
        order = store_articles.list_sections(conn)
        people = store_subscribers.recipients(conn, frequency=digest.frequency)
        who = None
        if as_email is not None:
            who = store_subscribers.get_by_email(conn, as_email)
            if who is None:
                raise InputError("--as", f"no subscriber {as_email}")
    variants, _ = selection.group_variants(
        recipients=people, articles=articles, ranked=ranked, order=order, digest=digest
    )
    known = [s.slug for s in order]
    chosen = selection.chosen_sections(who.sections, digest, known) if who else None
    picked = selection.select_for(
        sections=chosen, articles=articles, ranked=ranked, order=order, digest=digest
    )
    notes = [f"plan: {plan.action} {plan.reason}".strip()]
    if len(articles) < digest.min_items:
        notes.append(f"a run now would be skipped: {len(articles)} < min_items")
    renderer = fanout.renderer_for(settings)
    links = Links(view_in_browser=identity.archive_url(digest.id, 0), **fanout.personal_links())
    rendered = renderer.digest(_input(digest, w, picked, links, test=test_to is not None))
    body = mime.compose(
        rendered=rendered, sender=identity.sender, date=now,
        list_info=identity.list_info(digest.name, digest.id),
    )  # fmt: skip
    to = test_to or (who.email if who else identity.sender.address)
    subs = identity.substitutions(
        subscriber_id=who.id if who else 0, name=who.name if who else "", email=to, now=now
    )
    eml = enqueue.fill(body, subs, f"<preview@{identity.message_id_domain}>")
    return Preview(
        window=w, rendered=rendered, eml=eml, items=picked.item_count,
        most_viewed=list(picked.most_viewed), variants=len(variants),
        recipients=sum(len(v.recipients) for v in variants), sections=chosen, notes=notes,
    )  # fmt: skip


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
    recipient = store_subscribers.Recipient(id=0, email=to, name="", sections=(), language=None)
    with engine.begin() as conn:
        return fanout.store_and_enqueue(
            conn, identity, body=body, content_key=key, recipients=[recipient],
            dedupe_prefix=f"{key}:", kind="test", now=now,
        )  # fmt: skip
