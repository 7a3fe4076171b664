"""The soak test's arithmetic: what the relay accepted against what the outbox says.

Pure functions over plain data, so the figures can be checked without a relay or a database.

- lost: an enqueued recipient the relay never accepted, unless its row legitimately failed
  (a recipient the relay refuses with 550 5.1.1); a row marked ``sent`` that the relay never
  saw is lost too. Rows still pending when the deadline passed are counted apart (undrained).
- duplicate: every acceptance of a recipient after its first. It is attributed to, in order:
  the relay fault that hid the previous copy's 250 from the client (``drop_before_reply``,
  ``no_reply``); else the first event between the two copies (counting from ``SLACK``
  before the first): a fault the harness injected (``kill9``, ``sigterm``, ``pg_restart``)
  or a drain that died on its own (``drain_exit``). The first, because it is the one that
  interrupted the drain holding the row before its sent mark was committed; the last would
  blame a later fault that merely came before the resend. Else a slow final reply on the
  previous copy (``slow_final``); else ``no_fault`` (the row was claimed again while still
  held: a lease ran out).
- wait: from enqueue to the relay's first acceptance.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from soakrelay import Accepted

HIDDEN_REPLY = ("drop_before_reply", "no_reply")
SLACK = 1.0  # seconds


@dataclass(frozen=True, slots=True)
class Row:
    recipient: str
    message_id: str
    status: str


@dataclass
class Tally:
    enqueued: int = 0
    accepted: int = 0
    accepted_recipients: int = 0
    sent_marks: int = 0
    failed: int = 0
    failed_expected: int = 0  # the 550 5.1.1 recipients, failed and suppressed as they should
    suppressed_wrongly: int = 0  # suppression entries or suppressed rows for good recipients
    lost: int = 0
    lost_examples: list[str] = field(default_factory=list)
    sent_never_accepted: int = 0  # part of lost: marked sent, the relay never had it
    undrained: int = 0  # still queued/deferred/sending at the deadline
    statuses: dict[str, int] = field(default_factory=dict)
    wrong_message_id: int = 0  # an accepted copy whose Message-ID is not its row's
    duplicates: dict[str, int] = field(default_factory=dict)
    wait_max: float = 0.0
    wait_p50: float = 0.0
    wait_p99: float = 0.0

    @property
    def duplicate_total(self) -> int:
        return sum(self.duplicates.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duplicate_total": self.duplicate_total}


def count(
    *,
    rows: Sequence[Row],
    accepted: Sequence[Accepted],
    enqueued_at: Mapping[str, float],
    events: Sequence[tuple[float, str]],
    unknown: frozenset[str],
    suppressed: Iterable[str],
) -> Tally:
    t = Tally(enqueued=len(rows), accepted=len(accepted))
    by_rcpt: dict[str, list[Accepted]] = {}
    for a in sorted(accepted, key=lambda a: a.at):
        by_rcpt.setdefault(a.recipient, []).append(a)
    t.accepted_recipients = len(by_rcpt)
    t.statuses = dict(Counter(r.status for r in rows))
    t.sent_marks = t.statuses.get("sent", 0)
    t.failed = t.statuses.get("failed", 0)
    good_suppressed = {e.lower() for e in suppressed} - {u.lower() for u in unknown}
    t.suppressed_wrongly = len(good_suppressed) + sum(
        1 for r in rows if r.status == "suppressed" and r.recipient not in unknown
    )
    suppressed_all = {e.lower() for e in suppressed}
    lost: list[str] = []
    for r in rows:
        copies = by_rcpt.get(r.recipient, [])
        t.wrong_message_id += sum(1 for a in copies if a.message_id != r.message_id)
        if r.status in ("queued", "deferred", "sending"):
            t.undrained += 1
        elif r.recipient in unknown and r.status == "failed" and not copies:
            t.failed_expected += r.recipient.lower() in suppressed_all
        elif not copies:
            lost.append(r.recipient)
            t.sent_never_accepted += r.status == "sent"
    t.lost, t.lost_examples = len(lost), lost[:10]
    t.duplicates = dict(_duplicates(by_rcpt, events))
    _waits(t, by_rcpt, enqueued_at)
    return t


def _duplicates(
    by_rcpt: Mapping[str, list[Accepted]], events: Sequence[tuple[float, str]]
) -> Counter[str]:
    ordered = sorted(events)
    times = [at for at, _kind in ordered]
    causes: Counter[str] = Counter()
    for copies in by_rcpt.values():
        for before, again in itertools.pairwise(copies):
            causes[_cause(before, again, ordered, times)] += 1
    return causes


def _cause(
    before: Accepted, again: Accepted, events: list[tuple[float, str]], times: list[float]
) -> str:
    if before.fault in HIDDEN_REPLY:
        return before.fault
    # An event up to SLACK before the first copy still counts: the relay may read and keep a
    # message a moment after the drain that wrote it was killed (it was in the socket).
    lo = bisect.bisect_right(times, before.at - SLACK)
    hi = bisect.bisect_right(times, again.at)
    if lo < hi:
        return events[lo][1]
    if before.fault == "slow_final":
        return "slow_final"
    return "no_fault"


def _waits(
    t: Tally, by_rcpt: Mapping[str, list[Accepted]], enqueued_at: Mapping[str, float]
) -> None:
    waits = sorted(
        max(0.0, copies[0].at - enqueued_at[rcpt])
        for rcpt, copies in by_rcpt.items()
        if rcpt in enqueued_at
    )
    if waits:
        t.wait_max = waits[-1]
        t.wait_p50 = waits[len(waits) // 2]
        t.wait_p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
