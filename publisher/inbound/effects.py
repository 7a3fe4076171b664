"""What an inbound message does, written with its record in one transaction.

The record's unique key is the idempotency: a message seen before applies nothing. A hard
bounce suppresses the address at once (as a hard bounce at send time does); a soft one
counts towards the bounce score; a complaint unsubscribes the reader from everything and
suppresses the address for every kind of mail; an emailed unsubscribe does what the
one-click link does. Only a message matched by its VERP token (or a signed webhook of the
sending service) has an effect; one matched by address or Message-ID only is recorded as
``unverified`` and kept for the operator (match.py says why). Complaints are counted
against the digest run of the message, each address once, and a run whose complaint rate
passes ``complaint_hold_rate`` holds its digest (digests/holds.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from publisher.consent.record import Act
from publisher.consent.record import record as record_consent
from publisher.core import tokens
from publisher.core.config import Settings
from publisher.core.storable import stripped
from publisher.core.vocab import InboundOutcome
from publisher.digests import holds
from publisher.inbound.classify import Verdict
from publisher.inbound.match import Base, Match, find, verp_id
from publisher.readers import signup
from publisher.store import events as store_events
from publisher.store import inbound as store
from publisher.store.inbound import SentRow
from publisher.store.types import Connection

log = logging.getLogger("publisher.inbound")


@dataclass(frozen=True, slots=True)
class Rules:
    """The settings the effects read, taken once per job."""

    base: Base
    secret: str
    score_threshold: int
    score_window: timedelta
    warning_rate: float
    hold_rate: float

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        secret = tokens.signing_secret(settings.secret_key, settings.demo)
        address = settings.bounce_address or settings.delivery_return_path or settings.from_address
        return cls(
            Base.of(address, secret), secret, settings.bounce_score_threshold,
            settings.bounce_score_window, settings.complaint_warning_rate,
            settings.complaint_hold_rate,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Applied:
    outcome: InboundOutcome
    matched: bool = False
    duplicate: bool = False
    address: str | None = None
    suppressed: bool = False
    detail: str = ""
    # An address the report claims, shown to the operator but never acted on (no VERP token).
    claimed: str | None = None

    @property
    def keep_unmatched(self) -> bool:
        """Kept for the operator: not understood, or a bounce or complaint naming nothing."""
        return self.outcome == "unmatched" or (
            not self.matched and self.outcome in ("hard_bounce", "soft_bounce", "complaint")
        )


@dataclass
class Batch:
    """What a batch reads once instead of per message: the keys seen before (and those
    recorded in this batch, so a message twice in one batch applies once) and the outbox
    rows the VERP tokens name."""

    seen: dict[str, tuple[InboundOutcome, bool]]
    rows: dict[int, SentRow]
    # Records written together at the end of the batch; soft bounces and complaints are
    # written at once, because the bounce score and the complaint rate count them.
    pending: list[dict[str, Any]] = field(default_factory=list)

    def defer(self, outcome: InboundOutcome) -> list[dict[str, Any]] | None:
        return None if outcome in ("soft_bounce", "complaint") else self.pending


def prefetch(conn: Connection, rules: Rules, items: Sequence[tuple[Verdict, str]]) -> Batch:
    ids = [i for v, _k in items if (i := verp_id(v, rules.base)) is not None]
    return Batch(store.seen_many(conn, [k for _v, k in items]), store.outbox_rows(conn, ids))


def apply_many(
    conn: Connection, rules: Rules, items: Sequence[tuple[Verdict, str]], *, source: str,
    now: datetime,
) -> list[Applied]:  # fmt: skip
    items = [(v.clean(), stripped(k)) for v, k in items]  # a webhook's event id: its text
    batch = prefetch(conn, rules, items)
    done = [apply(conn, rules, v, key=k, source=source, now=now, batch=batch) for v, k in items]
    store.record_many(conn, batch.pending)
    return done


def apply(
    conn: Connection, rules: Rules, verdict: Verdict, *, key: str, source: str, now: datetime,
    batch: Batch | None = None,
) -> Applied:  # fmt: skip
    verdict, key = verdict.clean(), stripped(key)
    before = batch.seen.get(key) if batch is not None else store.seen(conn, key)
    if before is not None:
        return Applied(before[0], before[1], duplicate=True)
    applied = _apply(conn, rules, verdict, key=key, source=source, now=now, batch=batch)
    if batch is not None:
        batch.seen[key] = (applied.outcome, applied.matched)
    return applied


def _apply(
    conn: Connection, rules: Rules, verdict: Verdict, *, key: str, source: str, now: datetime,
    batch: Batch | None,
) -> Applied:  # fmt: skip
    defer = batch.defer(verdict.outcome) if batch is not None else None
    if verdict.outcome == "unsubscribe":
        return _unsubscribe(conn, rules, verdict, key=key, source=source, now=now, defer=defer)
    rows = batch.rows if batch is not None else None
    found = find(conn, verdict, rules.base, rows) if verdict.outcome != "unmatched" else Match()
    if found.row is not None and not found.acts(verdict.vouched):
        return _unverified(conn, verdict, found, key=key, source=source, now=now, defer=defer)
    address = found.row.recipient if found.row is not None else None
    digest_id, run_id = found.digest_run
    detail = verdict.detail if verdict.outcome == "unmatched" else f"{verdict.detail} [{found.how}]"
    # The same complaint again (a feedback loop resending it, under a new Message-ID) is
    # recorded but counts once against its run: the rate counts distinct addresses.
    repeat = (
        verdict.outcome == "complaint" and run_id is not None and address is not None
        and store.complained(conn, run_id, address)
    )  # fmt: skip
    store.record(
        conn, key=key, source=source, now=now, outcome=verdict.outcome, row=found.row,
        digest_id=digest_id, run_id=run_id, address=address, detail=detail, defer=defer,
    )  # fmt: skip
    suppressed = False
    if address is not None:
        suppressed = _effect(conn, rules, verdict.outcome, address, detail, now)
        if not repeat:
            _tell(conn, verdict.outcome, address, digest_id, run_id, detail, now)
        if verdict.outcome == "complaint" and run_id is not None and not repeat:
            _complaint_rate(conn, rules, run_id, now)
    return Applied(verdict.outcome, found.row is not None, address=address,
                   suppressed=suppressed, detail=detail)  # fmt: skip


def _unverified(
    conn: Connection, verdict: Verdict, found: Match, *, key: str, source: str, now: datetime,
    defer: list[dict[str, Any]] | None,
) -> Applied:  # fmt: skip
    """A bounce or complaint that names one of our messages only by an address or a
    Message-ID anyone could write (match.py): recorded for the operator (``inbound status``,
    the unmatched folder), with no effect: no suppression, no unsubscribe, no count against
    a run, no event."""
    assert found.row is not None
    detail = (f"{verdict.detail} [{found.how} {found.row.recipient}: not acted on, "
              "no VERP token]")  # fmt: skip
    store.record(conn, key=key, source=source, now=now, outcome=verdict.outcome,
                 row=found.row, unverified=True, detail=detail, defer=defer)  # fmt: skip
    return Applied(verdict.outcome, detail=detail, claimed=found.row.recipient)


def _effect(
    conn: Connection, rules: Rules, outcome: InboundOutcome, address: str, detail: str,
    now: datetime,
) -> bool:  # fmt: skip
    if outcome == "hard_bounce":
        return store.suppress(conn, address, reason="hard_bounce", detail=detail, now=now)
    if outcome == "soft_bounce":
        since = now - rules.score_window
        if store.soft_bounces(conn, address, since=since) >= rules.score_threshold:
            note = f"{rules.score_threshold} soft bounces within {rules.score_window}"
            return store.suppress(conn, address, reason="bounce_score", detail=note, now=now)
        return False
    if outcome == "complaint":
        if store.unsubscribe_address(conn, address, now=now):  # the consent log keeps why
            why = {"reason": "complaint"}
            record_consent(conn, Act("mail", rules.secret), email=address, subscriber_id=None,
                           event="unsubscribed", now=now, detail=why)  # fmt: skip
        return store.suppress(conn, address, reason="complaint", detail=detail, now=now)
    return False


def _tell(
    conn: Connection, outcome: InboundOutcome, address: str, digest_id: str | None,
    run_id: int | None, detail: str, now: datetime,
) -> None:  # fmt: skip
    """The ``bounce`` and ``complaint`` events for webhook receivers (issue 17), in the
    transaction of their effect."""
    if outcome not in ("hard_bounce", "soft_bounce", "complaint"):
        return
    event = "complaint" if outcome == "complaint" else "bounce"
    data = {"address": address, "kind": outcome, "digest_id": digest_id, "run_id": run_id,
            "detail": detail[:500]}  # fmt: skip
    store_events.record_event(conn, event, address, data, now=now)


def _unsubscribe(
    conn: Connection, rules: Rules, verdict: Verdict, *, key: str, source: str, now: datetime,
    defer: list[dict[str, Any]] | None,
) -> Applied:  # fmt: skip
    assert verdict.token is not None
    try:  # the token is checked before anything is written: a refusal leaves nothing
        who = signup.unsubscribe_in(conn, rules.secret, verdict.token, now=now)
    except tokens.TokenError as exc:
        detail = f"unsubscribe token refused: {exc}"
        store.record(conn, key=key, source=source, now=now, outcome="unmatched", detail=detail,
                     defer=defer)  # fmt: skip
        return Applied("unmatched", detail=detail)
    store.record(conn, key=key, source=source, now=now, outcome="unsubscribe",
                 address=who.email, detail="emailed unsubscribe", defer=defer)  # fmt: skip
    return Applied("unsubscribe", True, address=who.email, suppressed=True)


def _complaint_rate(conn: Connection, rules: Rules, run_id: int, now: datetime) -> None:
    """Warn at ``complaint_warning_rate``; hold the digest at ``complaint_hold_rate``."""
    run = store.run_recipients(conn, run_id)
    if run is None or run[1] <= 0:
        return
    digest_id, recipients = run
    complaints = store.run_complaints(conn, run_id)
    rate, before = complaints / recipients, (complaints - 1) / recipients
    # Each threshold acts when a complaint crosses it: once an operator resumes the digest,
    # later complaints about the same run do not hold it again (the next run's can).
    if rules.hold_rate > 0 and before < rules.hold_rate <= rate:
        reason = (f"complaint rate {rate:.2%} of run {run_id} ({complaints} of {recipients}) "
                  f"reached complaint_hold_rate {rules.hold_rate:.2%}")  # fmt: skip
        if holds.hold_in(conn, digest_id, reason=reason, by="inbound", now=now):
            log.critical("COMPLAINT CIRCUIT BREAKER: digest %s held: %s; "
                         "`publisher digest resume %s` lets it run again",
                         digest_id, reason, digest_id)  # fmt: skip
    elif before < rules.warning_rate <= rate:
        log.warning("digest %s run %d: complaint rate %.2f%% (%d of %d) passed %.2f%%",
                    digest_id, run_id, rate * 100, complaints, recipients,
                    rules.warning_rate * 100)  # fmt: skip
