"""Moving in from another tool: `subscribers import --from mailchimp|listmonk|ghost|substack`.

The file is read twice, streaming (memory stays flat whatever its size): first to check
every row (a bad row raises ``FormatError`` with its line, and nothing is written), then to
write every row in ONE transaction, so an import is all or nothing. Each row leaves its
consent log rows with the source's own dates ("imported", and "confirmed" only where the
source recorded a confirmation, "unsubscribed" where it recorded the reader leaving).

Importing the same export again adds nothing to the log: a row is logged only when it
changes the reader's state here (a new subscriber, a new status, a new suppression) or brings
evidence the log does not hold yet (another source, another source status, other source
dates). The line number is not evidence: a later export may list the same readers in
another order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from publisher.consent.record import Act, Fact, consented, logged, record
from publisher.core.models import Subscriber
from publisher.core.vocab import ImportSource, SubscriberStatus
from publisher.intake.records import check_utf8
from publisher.readers.importformats import READERS, Incoming
from publisher.readers.importformats.common import FATES, Fate
from publisher.store import pending as store_pending
from publisher.store import subscribers as store
from publisher.store import suppressions as store_suppressions
from publisher.store.types import Connection, Engine

# What each fate does here (the --dry-run lines say the same).
MEANS: dict[Fate, str] = {
    "confirmed": "confirmed subscribers (the source recorded their confirmation)",
    "pending": "pending: no mail until they confirm (--send-confirmation asks them)",
    "unsubscribed": "unsubscribed: suppressed, never mailed",
    "bounced": "hard_bounce suppression (the source stopped mailing them)",
    "blocked": "blocklisted suppression",
}


@dataclass
class MoveReport:
    fates: Counter[Fate] = field(default_factory=Counter)  # rows of the file, by fate
    statuses: Counter[str] = field(default_factory=Counter)  # rows by the tool's own status
    kept: int = 0  # readers who had unsubscribed here: an old list never re-subscribes them
    pending: list[str] = field(default_factory=list)  # addresses left pending

    @property
    def rows(self) -> int:
        """Rows the file holds (0: a header line only)."""
        return sum(self.fates.values())

    def lines(self) -> list[str]:
        out = [f"{self.fates[f]} {MEANS[f]}" for f in FATES if self.fates[f]]
        out += [f"source status {s!r}: {n}" for s, n in sorted(self.statuses.items())]
        if self.kept:
            out.append(f"{self.kept} had unsubscribed or are suppressed here: left as they are")
        return out


def check(path: Path, source: ImportSource) -> MoveReport:
    """Read the whole file without writing: its counts per fate, or FormatError."""
    check_utf8(path)
    report = MoveReport()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for inc in READERS[source](fh):
            report.fates[inc.fate] += 1
            report.statuses[inc.source_status] += 1
    return report


def move_in(engine: Engine, path: Path, source: ImportSource, *, now: datetime,
            act: Act) -> MoveReport:  # fmt: skip
    """Check the file, then import it in one transaction (see the module's docstring)."""
    report = check(path, source)
    with engine.begin() as conn, path.open(encoding="utf-8-sig", newline="") as fh:
        for inc in READERS[source](fh):
            _apply(conn, inc, source, act=act, now=now, report=report)
    return report


def _facts(inc: Incoming, source: str) -> list[Fact]:
    """The rows a row of the export leaves in the log, as evidence (see the docstring)."""
    evidence = {"source": source, "source_status": inc.source_status}
    facts = [Fact("imported", inc.subscribed_at, evidence)]
    if inc.fate == "confirmed":
        facts.append(Fact("confirmed", inc.confirmed_at, evidence))
    elif inc.fate == "unsubscribed":
        facts.append(Fact("unsubscribed", inc.left_at, evidence))
    return facts


def _log(conn: Connection, act: Act, inc: Incoming, source: str, *, sid: int | None,
         now: datetime) -> None:  # fmt: skip
    for fact in _facts(inc, source):
        record(conn, act, email=inc.email, subscriber_id=sid, event=fact.event, now=now,
               at=fact.at, advertising=fact.event == "confirmed",
               detail={**fact.evidence, "line": inc.line})  # fmt: skip


def _apply(conn: Connection, inc: Incoming, source: str, *, act: Act, now: datetime,
           report: MoveReport) -> None:  # fmt: skip
    old = store.get_by_email(conn, inc.email)
    sid: int | None
    if inc.fate in ("confirmed", "pending"):
        subscribed = _subscribe(conn, inc, old, now=now, report=report)
        if subscribed is None:
            return
        sid, changed = subscribed
    else:
        sid, changed = (old.id if old else None), _withdraw(conn, inc, old, source, now=now)
    if not changed and logged(conn, act, inc.email, _facts(inc, source)):
        # The same export again: its proof is in the log already, and advertising consent
        # (perhaps asked for again or lapsed since) stays as it is.
        return
    _log(conn, act, inc, source, sid=sid, now=now)
    if inc.fate == "confirmed" and sid is not None and (old is None or old.status != "confirmed"):
        # Only a new confirmation gives advertising consent: new evidence about a reader who
        # is confirmed here already must not renew it, nor restore it after it lapsed.
        consented(conn, sid, at=inc.confirmed_at or now)


def _subscribe(conn: Connection, inc: Incoming, old: Subscriber | None, *, now: datetime,
               report: MoveReport) -> tuple[int, bool] | None:  # fmt: skip
    """A confirmed or pending row: (the subscriber's id, whether their status changed), or
    None when they are kept out (see ``MoveReport.kept``)."""
    if (old is not None and old.status == "unsubscribed") or (
        old is None and store_suppressions.is_suppressed(conn, inc.email, "all")
    ):  # left here (or only a suppression is left of them): an old list never undoes it
        report.kept += 1
        return None
    was_confirmed = old is not None and old.status == "confirmed"
    status: SubscriberStatus = (
        "confirmed" if inc.fate == "confirmed" or was_confirmed else "pending"
    )
    store.upsert(
        conn, email=inc.email, name=inc.name or (old.name if old else ""),
        sections=old.sections if old else (), frequency=old.frequency if old else "daily",
        status=status, now=now,
    )  # fmt: skip
    who = store.get_by_email(conn, inc.email)
    assert who is not None
    if status == "pending":
        store_pending.mark_imported(conn, [who.email])
        report.pending.append(who.email)
    return who.id, old is None or old.status != status


def _withdraw(conn: Connection, inc: Incoming, old: Subscriber | None, source: str, *,
              now: datetime) -> bool:  # fmt: skip
    """An unsubscribed, bounced or blocked row: whether it changed anything here."""
    if inc.fate == "unsubscribed":
        changed = not store_suppressions.is_suppressed(conn, inc.email, "all")
        if old is not None and old.status != "unsubscribed":
            store.set_status(conn, old.id, "unsubscribed", now=inc.left_at or now)
            changed = True
        store.suppress(conn, email=inc.email, reason="unsubscribed", now=now)
        return changed
    reason = "hard_bounce" if inc.fate == "bounced" else "blocklisted"
    detail = f"imported from {source}: {inc.source_status}"
    return store_suppressions.add(conn, [inc.email], reason=reason, now=now, detail=detail) > 0
