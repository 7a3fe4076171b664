"""The named jobs: each strings the stages together, collect → render → compose → outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from publisher.analytics.tracking import Tracking
from publisher.consent import advertising as ads
from publisher.core.config import Settings
from publisher.core.errors import InputError, PublisherError
from publisher.core.models import Article, RankedArticle, Section, Selection
from publisher.core.schedules import Digest, Schedules
from publisher.core.vocab import RunOutcome, RunStatus
from publisher.digests import holds, runs, selection, streamed
from publisher.messages import bulk, enqueue, fanout, mime
from publisher.render.templates import DigestInput, Links, RenderedEmail, Renderer
from publisher.store import articles as store_articles
from publisher.store import digest_runs
from publisher.store import outbox as store_outbox
from publisher.store import subscribers as store_subscribers
from publisher.store.subscribers import Recipient
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
        if (held := holds.holding(conn, digest.id)) is not None:
            return _held(digest.id, held)
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
    bulk.after_bulk(engine, result.enqueued)
    log.info(
        "digest %s: run %d window (%s, %s]: %d items, %d variants, %d enqueued",
        digest.id, run_id, w.start, w.end, result.items, result.variants, result.enqueued,
    )  # fmt: skip
    return result


def _grouper(
    conn: Connection, digest: Digest, w: selection.Window, articles: list[Article],
    weights: Mapping[str, float] | None = None,
) -> tuple[selection.Grouper, list[RankedArticle], list[Section]]:  # fmt: skip
    """What decides each reader's variant of this window (``weights``: most_viewed_sources)."""
    ranked = selection.most_viewed_for(conn, digest, w, weights)
    order = store_articles.list_sections(conn)
    grouper = selection.Grouper(articles=articles, ranked=ranked, order=order, digest=digest)
    return grouper, ranked, order


def _rules(settings: Settings, digest: Digest) -> ads.Rules | None:
    """The advertising rules ("(광고)", notice, quiet hours) when the digest is advertising."""
    return ads.Rules.from_settings(settings) if digest.advertising else None


def _hold_until(rules: ads.Rules | None, queued: datetime) -> datetime | None:
    return rules.hold_until(queued) if rules is not None else None


def _store_variant(
    conn: Connection, renderer: Renderer, identity: fanout.Identity, digest: Digest,
    w: selection.Window, run_id: int, v: selection.Variant, queued: datetime,
    rules: ads.Rules | None, track: dict[str, Any],
) -> int:  # fmt: skip
    """Render one variant (``track``: its tracked links, Tracking.render_args), compose it
    and store it once; its content id."""
    links = Links(view_in_browser=identity.archive_url(digest.id, run_id),
                  **fanout.personal_links())  # fmt: skip
    rendered = renderer.digest(_input(digest, w, v.selection, links, **track))
    if rules is not None:
        rendered = rules.apply(rendered, mime.UNSUBSCRIBE_URL)
    body = mime.compose(
        rendered=rendered, sender=identity.sender, date=queued,
        list_info=identity.list_info(digest.name, digest.id),
    )  # fmt: skip
    key = f"{digest_runs.dedupe_prefix(digest.id, run_id)}{v.key}"
    return enqueue.store_content(conn, key=key, kind="digest", body=body, now=queued)


def _held(digest_id: str, held: holds.Hold) -> RunResult:
    note = (f"held by {held.held_by} since {held.created_at:%Y-%m-%d %H:%M} UTC: {held.reason}; "
            f"`publisher digest resume {digest_id}` lets its runs go again")  # fmt: skip
    log.warning("digest %s: run skipped, %s", digest_id, note)
    return RunResult("held", digest_id, note=note)


def _enqueue_run(
    conn: Connection, settings: Settings, identity: fanout.Identity, digest: Digest,
    w: selection.Window, run_id: int, articles: list[Article], queued: datetime,
) -> RunResult:  # fmt: skip
    """Render each variant, queue it for its recipients (or, with approval required, only
    keep it until an editor approves), and keep the full issue as the run's archive (in the
    run's transaction)."""
    grouper, ranked, order = _grouper(conn, digest, w, articles, settings.most_viewed_sources)
    hold = digest.approval_span is not None
    rules = _rules(settings, digest)
    prefix = digest_runs.dedupe_prefix(digest.id, run_id)
    renderer = fanout.renderer_for(settings)  # one per run: Jinja2 compiles its templates once
    tracking = Tracking.start(conn, settings, identity.secret, run_id=run_id, now=queued)

    def content_for(v: selection.Variant, number: int) -> int:
        return _store_variant(conn, renderer, identity, digest, w, run_id, v, queued, rules,
                              tracking.render_args(number))  # fmt: skip

    send = _sender(conn, identity, prefix, rules, tracking, queued)
    done = streamed.fan_out(grouper, streamed.readers(conn, digest), content_for=content_for,
                            send=None if hold else send,
                            overlap=streamed.overlaps(conn))  # fmt: skip
    variants, recipients, enqueued = done.variants, done.recipients, done.enqueued
    full = selection.select_for(
        sections=None, articles=articles, ranked=ranked, order=order, digest=digest
    )
    archive_url = identity.archive_url(digest.id, run_id)
    archive = renderer.digest(
        _input(digest, w, full, Links(view_in_browser=archive_url), archive=True)
    )
    if rules is not None:  # history, the report and the console show the subject as sent
        archive = replace(archive, subject=ads.subject(archive.subject))
    status: RunStatus = "awaiting_approval" if hold else "enqueued"
    approval: dict[str, Any] = {}
    if digest.approval_span is not None:  # the deadline counts from the due time
        approval = {"approval_deadline": w.due + digest.approval_span,
                    "on_deadline": digest.on_deadline}  # fmt: skip
    digest_runs.finish(
        conn, run_id, status=status, item_count=len(articles),
        most_viewed_count=len(full.most_viewed), variant_count=len(variants),
        recipient_count=recipients, subject=archive.subject, archive_html=archive.html,
        **approval,
    )  # fmt: skip
    if not hold:  # a run waiting for approval is "sent" when approved (enqueue_approved)
        runs.record_sent(
            conn, digest_id=digest.id, run_id=run_id, subject=archive.subject,
            recipients=recipients, items=len(articles), now=queued,
        )  # fmt: skip
    return RunResult(
        status, digest.id, w, run_id, items=len(articles), most_viewed=len(full.most_viewed),
        variants=len(variants), recipients=recipients, enqueued=enqueued,
        skipped_recipients=done.skipped,
    )  # fmt: skip


def approval_recipients(conn: Connection, digest: Digest, run: digest_runs.RunRow) -> int:
    """How many readers an approval now would queue the run for (those whose variant has
    something to send), without rendering anything."""
    w = selection.Window(digest.id, run.window_start, run.window_end, run.due_at)
    grouper = _grouper(conn, digest, w, selection.new_articles(conn, digest, w))[0]
    people = streamed.readers(conn, digest)
    return streamed.fan_out(grouper, people, content_for=lambda v, n: 0, send=None).recipients


def enqueue_approved(
    conn: Connection, settings: Settings, digest: Digest, run: digest_runs.RunRow,
    *, now: datetime,
) -> tuple[int, int]:  # fmt: skip
    """Queue an approved run, as a run without approval would have queued it, to the
    recipients of now (a reader who left since gets nothing, one who came gets it). The
    variants rendered when the run was made are sent as they were previewed; a variant
    nobody had then is rendered now. Returns (rows enqueued, recipients)."""
    identity = fanout.Identity.from_settings(settings)
    w = selection.Window(digest.id, run.window_start, run.window_end, run.due_at)
    articles = selection.new_articles(conn, digest, w)
    grouper = _grouper(conn, digest, w, articles, settings.most_viewed_sources)[0]
    prefix = digest_runs.dedupe_prefix(digest.id, run.id)
    renderer: Renderer | None = None
    rules = _rules(settings, digest)
    tracking = Tracking.start(conn, settings, identity.secret, run_id=run.id, now=now)

    def content_for(v: selection.Variant, number: int) -> int:
        nonlocal renderer
        cid = store_outbox.content_id(conn, f"{prefix}{v.key}")
        if cid is None:  # a section choice no reader had when the run was rendered
            renderer = renderer or fanout.renderer_for(settings)
            cid = _store_variant(conn, renderer, identity, digest, w, run.id, v, now, rules,
                                 tracking.render_args(run.variant_count + number))  # fmt: skip
        return cid

    send = _sender(conn, identity, prefix, rules, tracking, now)
    done = streamed.fan_out(grouper, streamed.readers(conn, digest), content_for=content_for,
                            send=send, overlap=streamed.overlaps(conn))  # fmt: skip
    enqueued, recipients = done.enqueued, done.recipients
    runs.record_sent(
        conn, digest_id=digest.id, run_id=run.id, subject=run.subject or "",
        recipients=recipients, items=len(articles), now=now,
    )  # fmt: skip
    return enqueued, recipients


def _sender(
    conn: Connection,
    identity: fanout.Identity,
    prefix: str,
    rules: ads.Rules | None,
    tracking: Tracking,
    now: datetime,
) -> streamed.Send:
    """A run's batches of readers → their outbox rows, built now and written by the call
    returned (streamed.fan_out may run it on its worker)."""

    def send(groups: dict[int, list[Recipient]]) -> Callable[[], int]:
        return fanout.prepare_groups(
            conn, identity, groups=groups, dedupe_prefix=prefix, kind="digest", now=now,
            not_before=_hold_until(rules, now), extra=tracking.extra,
        )  # fmt: skip

    return send


def _already(conn: Connection, digest_id: str, w: selection.Window) -> RunResult:
    """The run that has this key, with the window it ran for: the plan's own window can start
    after its end (a later manual run moved the start on), which is not a window to show."""
    row = digest_runs.get_run(conn, digest_id, w.end)
    if row is None:  # a manual run ended after this scheduled one would have
        return RunResult("already", digest_id, None, note=f"runs already sent up to {w.start}")
    ran = selection.Window(digest_id=digest_id, start=row.window_start, end=row.window_end,
                           due=row.due_at)  # fmt: skip
    return RunResult(
        "already", digest_id, ran, row.id, items=row.item_count,
        recipients=row.recipient_count, note="this run key has already run",
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
    sections: Sequence[str] | None = None,
) -> Preview:
    """Render what a run at ``now`` would send (to ``as_email``'s variant, or to a reader
    who chose ``sections``), without sending."""
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
        who = None
        if as_email is not None:
            who = store_subscribers.get_by_email(conn, as_email)
            if who is None:
                raise InputError("--as", f"no subscriber {as_email}")
        grouper = selection.Grouper(articles=articles, ranked=ranked, order=order, digest=digest)
        people = store_subscribers.iter_recipients(conn, frequency=digest.frequency)
        counted = streamed.fan_out(grouper, people, content_for=lambda v, n: 0, send=None)
    known = [s.slug for s in order]
    mine = who.sections if who else sections
    chosen = selection.chosen_sections(mine, digest, known) if mine is not None else None
    picked = selection.select_for(
        sections=chosen, articles=articles, ranked=ranked, order=order, digest=digest
    )
    notes = [f"plan: {plan.action} {plan.reason}".strip()]
    if len(articles) < digest.min_items:
        notes.append(f"a run now would be skipped: {len(articles)} < min_items")
    rendered, body = _preview_body(settings, identity, digest, w, picked, now, test_to)
    to = test_to or (who.email if who else identity.sender.address)
    subs = identity.substitutions(
        subscriber_id=who.id if who else 0, name=who.name if who else "", email=to, now=now
    )
    eml = enqueue.fill(body, subs, f"<preview@{identity.message_id_domain}>")
    return Preview(
        window=w, rendered=rendered, eml=eml, items=picked.item_count,
        most_viewed=list(picked.most_viewed), variants=len(counted.variants),
        recipients=counted.recipients, sections=chosen, notes=notes,
    )  # fmt: skip


def _preview_body(
    settings: Settings, identity: fanout.Identity, digest: Digest, w: selection.Window,
    picked: Selection, now: datetime, test_to: str | None,
) -> tuple[RenderedEmail, bytes]:  # fmt: skip
    """The preview's rendering and MIME bytes, with the advertising rules where they apply."""
    renderer = fanout.renderer_for(settings)
    links = Links(view_in_browser=identity.archive_url(digest.id, 0), **fanout.personal_links())
    rendered = renderer.digest(_input(digest, w, picked, links, test=test_to is not None))
    if digest.advertising:
        rendered = ads.Rules.from_settings(settings).apply(rendered, mime.UNSUBSCRIBE_URL)
    body = mime.compose(
        rendered=rendered, sender=identity.sender, date=now,
        list_info=identity.list_info(digest.name, digest.id),
    )  # fmt: skip
    return rendered, body
