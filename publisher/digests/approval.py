"""Approval of digest runs: the use cases the CLI, the API and the console call.

A schedule with ``approval: required`` renders its run and stores its variants, but queues
nothing: the run waits in ``awaiting_approval`` (pipeline._enqueue_run). Then exactly one of:

- ``approve``: the run is queued as a run without approval would have been, to the
  recipients of the moment of approval (pipeline.enqueue_approved), status ``enqueued``;
- ``reject``: status ``held``, nothing is ever sent (final: its articles are not offered
  again by the next run, which starts after its window);
- the deadline (``settle_deadlines``, run by the daemon's ``approvals`` job with its clock):
  ``skip`` → status ``skipped``, ``send`` → approved by ``deadline``.

Each decision is one conditional update (``awaiting_approval`` → …) in the transaction that
also queues the messages: two editors, or an editor and the deadline, cannot both decide.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from dataclasses import dataclass
from datetime import datetime

from publisher.core.config import Settings
from publisher.core.errors import PublisherError
from publisher.core.schedules import Schedules
from publisher.core.vocab import RunStatus
from publisher.digests import pipeline
from publisher.messages import bulk
from publisher.store import digest_runs
from publisher.store.digest_runs import RunRow
from publisher.store.types import Connection, Engine

DEADLINE = "deadline"  # who decided, when nobody did in time
MAX_NAME = 200


class NoSuchRun(PublisherError):
    """No digest run has this id (the API answers 404)."""


class NotWaiting(PublisherError):
    """The run is not awaiting approval (any more): decided, or never needed it (409)."""


@dataclass(frozen=True, slots=True)
class Decision:
    run_id: int
    digest_id: str
    status: RunStatus
    by: str
    at: datetime
    enqueued: int = 0
    recipients: int = 0


@dataclass(frozen=True, slots=True)
class HeldPreview:
    """What an editor sees before approving: the run, a variant's HTML, who would get it."""

    run: RunRow
    subject: str
    html: str  # the chosen variant's HTML (personal links as placeholders), else the archive
    variants: tuple[str, ...]  # the stored variants' keys
    recipients_now: int  # the readers an approval now would queue it for


def _name(by: str) -> str:
    cleaned = " ".join(by.split())[:MAX_NAME]
    return cleaned or "unknown"


def get_run(engine: Engine, run_id: int) -> RunRow:
    with engine.connect() as conn:
        run = digest_runs.run_by_id(conn, run_id)
    if run is None:
        raise NoSuchRun(f"no digest run {run_id}")
    return run


def pending(engine: Engine, *, limit: int = 100) -> list[RunRow]:
    """Runs awaiting approval, the oldest due first."""
    return runs_in_state(engine, "awaiting_approval", limit=limit)


def runs_in_state(engine: Engine, state: RunStatus, *, limit: int = 100) -> list[RunRow]:
    with engine.connect() as conn:
        return digest_runs.runs_in_state(conn, state, limit=limit)


def _waiting(conn: Connection, run_id: int) -> RunRow:
    run = digest_runs.run_by_id(conn, run_id)
    if run is None:
        raise NoSuchRun(f"no digest run {run_id}")
    if run.status != "awaiting_approval":
        who = f" by {run.decided_by}" if run.decided_by else ""
        raise NotWaiting(f"run {run_id} is not awaiting approval: it is {run.status}{who}")
    return run


def _approve_in(
    conn: Connection, settings: Settings, schedules: Schedules, run: RunRow, *, by: str,
    now: datetime,
) -> Decision:  # fmt: skip
    try:
        digest = schedules.digest(run.digest_id)
    except KeyError:
        raise NotWaiting(
            f"run {run.id}: digest {run.digest_id!r} is no longer in the schedules; "
            "reject it instead"
        ) from None
    if not digest_runs.decide(conn, run.id, to="enqueued", by=by, now=now):
        raise NotWaiting(f"run {run.id} was decided meanwhile")
    enqueued, recipients = pipeline.enqueue_approved(conn, settings, digest, run, now=now)
    digest_runs.finish(conn, run.id, recipient_count=recipients)
    return Decision(run.id, run.digest_id, "enqueued", by, now, enqueued, recipients)


def approve(
    engine: Engine, settings: Settings, schedules: Schedules, run_id: int, *, by: str,
    now: datetime,
) -> Decision:  # fmt: skip
    """Queue the run now (NoSuchRun, NotWaiting). Recipients are those of the moment of
    approval; the messages are dated and expire from now."""
    with engine.begin() as conn:
        run = _waiting(conn, run_id)
        if run.approval_deadline is not None and now >= run.approval_deadline:
            raise NotWaiting(
                f"run {run_id}: its approval deadline passed at "
                f"{run.approval_deadline.isoformat()}: its deadline rule "
                f"({run.on_deadline}) decides it, not a late approval"
            )
        decision = _approve_in(conn, settings, schedules, run, by=_name(by), now=now)
    bulk.after_bulk(engine, decision.enqueued)
    return decision


def reject(engine: Engine, run_id: int, *, by: str, now: datetime) -> Decision:
    """Hold the run for good: nothing of it is sent (NoSuchRun, NotWaiting)."""
    name = _name(by)
    with engine.begin() as conn:
        run = _waiting(conn, run_id)
        if not digest_runs.decide(conn, run.id, to="held", by=name, now=now):
            raise NotWaiting(f"run {run_id} was decided meanwhile")
    return Decision(run.id, run.digest_id, "held", name, now, recipients=run.recipient_count)


def settle_deadlines(
    engine: Engine, settings: Settings, schedules: Schedules, *, now: datetime
) -> list[Decision]:
    """Decide every run whose approval deadline has come: skip it or send it, as its
    schedule said when it was rendered. Each run in its own transaction."""
    with engine.connect() as conn:
        due = digest_runs.past_deadline(conn, now)
    done: list[Decision] = []
    known = {d.id for d in schedules.digests}
    for run in due:
        with engine.begin() as conn:
            if run.on_deadline == "send" and run.digest_id in known:
                with contextlib.suppress(NotWaiting):  # an editor decided while we looked
                    done.append(_approve_in(conn, settings, schedules, run, by=DEADLINE, now=now))
                continue
            note = "nobody approved it by its approval deadline"
            if run.digest_id not in known:
                note += f" (and digest {run.digest_id!r} left the schedules)"
            if digest_runs.decide(conn, run.id, to="skipped", by=DEADLINE, now=now, note=note):
                done.append(Decision(run.id, run.digest_id, "skipped", DEADLINE, now))
    bulk.after_bulk(engine, sum(d.enqueued for d in done))
    return done


def recipients_now(engine: Engine, schedules: Schedules, run: RunRow) -> int:
    """How many readers an approval now would queue the run for (0 once its digest left the
    schedules): the confirmed, unsuppressed readers of its frequency whose variant of the
    run's window has something to send."""
    try:
        digest = schedules.digest(run.digest_id)
    except KeyError:
        return 0
    with engine.connect() as conn:
        return pipeline.approval_recipients(conn, digest, run)


def preview(
    engine: Engine, schedules: Schedules, run_id: int, *, variant: str | None = None
) -> HeldPreview:
    """The held run as an editor reviews it: a variant's HTML (``variant`` is its key; by
    default the full issue as archived), the variants and the recipient count now."""
    run = get_run(engine, run_id)
    with engine.connect() as conn:
        stored = digest_runs.contents_of_run(conn, run.digest_id, run.id)
        html = digest_runs.run_archive(conn, run.digest_id, run.id)
    prefix = digest_runs.dedupe_prefix(run.digest_id, run.id)
    keys = tuple(sorted(k.removeprefix(prefix) for k in stored))
    body = html[1] if html else ""
    if variant is not None:
        raw = stored.get(prefix + variant)
        if raw is None:
            raise NoSuchRun(f"run {run_id} has no variant {variant!r} (it has: {', '.join(keys)})")
        body = _html_part(raw)
    return HeldPreview(run, run.subject, body, keys, recipients_now(engine, schedules, run))


def _html_part(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    part = msg.get_body(preferencelist=("html",))
    return "" if part is None else str(part.get_content())
