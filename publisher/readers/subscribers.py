"""Subscriber use cases: import (CSV / JSON Lines), add, remove, list, export.

Rows an import or the CLI leaves *pending* are marked as imported: nobody asked them to
confirm, so the nightly cleanup keeps them until ``ask_to_confirm`` has (see store/pending.py).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, get_args

from publisher.consent.record import Act, consented, has_lapsed, record
from publisher.core.addresses import AddressError, normalise, to_ascii
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.core.models import Subscriber
from publisher.core.storable import unstorable_key
from publisher.core.vocab import (
    ConsentEvent,
    OutboxKind,
    SubscriberFrequency,
    SubscriberStatus,
    pick,
)
from publisher.intake.records import check_utf8
from publisher.store import outbox as store_outbox
from publisher.store import pending as store_pending
from publisher.store import ratecounters
from publisher.store import subscribers as store
from publisher.store.types import Connection, Engine

COLUMNS = ("email", "name", "sections", "frequency", "status")
FREQUENCIES: tuple[SubscriberFrequency, ...] = get_args(SubscriberFrequency)
STATUSES: tuple[SubscriberStatus, ...] = ("pending", "confirmed")  # what an import or add may set
ALL_STATUSES: tuple[SubscriberStatus, ...] = get_args(SubscriberStatus)  # what one may have
_EDITABLE = ("name", "sections", "frequency", "status")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # subscriptions.section is String(64)


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    email: str
    name: str
    sections: tuple[str, ...]
    frequency: SubscriberFrequency
    status: SubscriberStatus


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # emails of the file's pending rows


def validate(line: int, raw: dict[str, Any]) -> Row | RowError:
    """One record → a clean row, or the first problem with its field."""
    # First: a NUL (PostgreSQL) or a lone surrogate (both stores) fails the row's writes, and
    # a surrogate echoed in an error below fails the answer or the terminal's print too.
    if (bad := unstorable_key(raw)) is not None:
        return RowError(line, *bad)
    unknown = sorted(set(raw) - set(COLUMNS))
    if unknown:
        return RowError(line, unknown[0], "unknown column")
    email = str(raw.get("email") or "").strip()
    if not email:
        return RowError(line, "email", "missing")
    try:
        email = normalise(email)
    except AddressError as exc:
        return RowError(line, "email", str(exc))
    sections_raw = raw.get("sections") or []
    if isinstance(sections_raw, str):
        sections_raw = [s for s in (p.strip() for p in sections_raw.split(";")) if s]
    if not isinstance(sections_raw, list):
        return RowError(line, "sections", "must be ;-separated slugs or a list")
    for s in sections_raw:
        if not isinstance(s, str):  # JSON's [1] or [null]: no slug, and no s[:80] either
            return RowError(line, "sections", f"not a section slug: {s!r:.80}")
        if not _SLUG.match(s):
            return RowError(line, "sections", f"not a section slug: {s[:80]!r}")
    asked = str(raw.get("frequency") or "daily").strip()
    frequency = pick(asked, FREQUENCIES)
    if frequency is None:
        return RowError(line, "frequency", f"must be daily or weekly, got {asked!r}")
    given = str(raw.get("status") or "pending").strip()
    status = pick(given, STATUSES)
    if status is None:
        return RowError(line, "status", f"must be pending or confirmed, got {given!r}")
    name = str(raw.get("name") or "").strip()
    if len(name) > 200 or any(c in name for c in "\r\n"):
        return RowError(line, "name", "at most 200 characters on one line")
    return Row(line, email, name, tuple(sorted(set(sections_raw))), frequency, status)


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise InputError(str(path), "use a .csv or .jsonl file")


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(line number, record) from a .csv (header row) or .jsonl file."""
    _check_suffix(path)
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if suffix == ".csv":
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "email" not in reader.fieldnames:
                yield 1, RowError(1, "email", "the header row must name an email column")
                return
            for rec in reader:
                if None in rec:
                    yield reader.line_num, RowError(reader.line_num, "(row)", "too many fields")
                else:
                    yield reader.line_num, {k: v for k, v in rec.items() if k is not None}
        else:
            for n, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield n, RowError(n, "(line)", f"not JSON: {exc.msg}")
                    continue
                yield n, rec if isinstance(rec, dict) else RowError(n, "(line)", "not an object")


def _upsert(conn: Connection, row: Row, *, now: datetime) -> store.Outcome:
    outcome = store.upsert(
        conn, email=row.email, name=row.name, sections=row.sections,
        frequency=row.frequency, status=row.status, now=now,
    )  # fmt: skip
    if row.status == "pending":
        # Written by an operator, not the web form: nobody asked this reader yet.
        store_pending.mark_imported(conn, [row.email])
    return outcome


def _consent_of(who: Subscriber | Row) -> tuple[str, tuple[str, ...], str]:
    """What a reader consented to: their status, their sections, how often. Their name is
    not consent: a re-import that only corrects it changes the row, not the log."""
    return who.status, tuple(sorted(who.sections)), who.frequency


def _logged(conn: Connection, row: Row, old: Subscriber | None, act: Act, now: datetime) -> None:
    """An import or an operator's add is logged as what it is: "imported" (or "subscribed"
    by hand), and "confirmed" only when the row says the reader had confirmed.

    Only a change of consent is logged: the same file imported again (or a row whose only
    change is the name) adds no row, and leaves advertising consent as it was."""
    if old is not None and _consent_of(old) == _consent_of(row):
        return
    who = store.get_by_email(conn, row.email)
    assert who is not None
    event: ConsentEvent = "imported" if act.channel == "import" else "subscribed"
    detail = {"status": row.status, "sections": list(row.sections), "frequency": row.frequency}
    confirms = row.status == "confirmed" and (old is None or old.status != "confirmed")
    # The row says advertising consent holds only when it gives it now, or it still holds: new
    # sections for a reader whose consent lapsed do not give it back.
    advertising = confirms or (row.status == "confirmed" and not has_lapsed(conn, who.id))
    record(conn, act, email=who.email, subscriber_id=who.id, event=event, now=now,
           advertising=advertising, detail=detail)  # fmt: skip
    if confirms:
        # A new confirmation; new sections for a confirmed reader do not renew (or restore,
        # after it lapsed) their consent to advertising.
        consented(conn, who.id, at=now)


def _import_row(conn: Connection, row: Row, *, now: datetime, act: Act) -> store.Outcome:
    old = store.get_by_email(conn, row.email)
    if old is not None and old.status == "unsubscribed":
        # An old list must not re-subscribe someone who opted out: they are left as they are.
        return "unchanged"
    if old is not None and old.status == "confirmed" and row.status == "pending":
        # Nor take back consent already given ("pending" is also the default of a file
        # without a status column): a confirmed reader stays confirmed.
        row = dataclasses.replace(row, status="confirmed")
    outcome = _upsert(conn, row, now=now)
    _logged(conn, row, old, act, now)
    return outcome


def import_file(engine: Engine, path: Path, *, now: datetime, act: Act) -> ImportReport:
    """Each good row is upserted on its own; bad rows are reported and never half-written.

    A file that is not UTF-8 raises NotUtf8 before anything is written.
    """
    _check_suffix(path)
    check_utf8(path)
    report = ImportReport()
    for line, rec in read_records(path):
        row = rec if isinstance(rec, RowError) else validate(line, rec)
        if isinstance(row, RowError):
            report.errors.append(row)
            continue
        with engine.begin() as conn:
            if (deleted := _deleted(conn, line, row)) is not None:
                report.errors.append(deleted)
                continue
            outcome = _import_row(conn, row, now=now, act=act)
            who = store.get_by_email(conn, row.email)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if who is not None and who.status == "pending":
            report.pending.append(who.email)
    return report


def _deleted(conn: Connection, line: int, row: Row) -> RowError | None:
    """A reader whose data was deleted (their request, or `subscribers remove`) comes back by
    signing up again, never with a list."""
    listed = store_outbox.suppressions_for(conn, [row.email]).get(row.email.lower(), set())
    if store.get_by_email(conn, row.email) or ("all", "deleted") not in listed:
        return None
    return RowError(line, "email", "their data was deleted; only a new sign-up adds them")


def _valid(raw: Mapping[str, Any]) -> Row:
    row = validate(0, dict(raw))
    if isinstance(row, RowError):
        raise InputError(row.field, row.reason)
    return row


def add(engine: Engine, raw: dict[str, Any], *, now: datetime, act: Act) -> str:
    """One record, as one row of an import (missing fields take the import defaults)."""
    row = _valid(raw)
    with engine.begin() as conn:
        return _import_row(conn, row, now=now, act=act)


def add_or_update(
    engine: Engine,
    given: Mapping[str, Any],
    *,
    now: datetime,
    defaults: Mapping[str, Any],
    act: Act,
) -> str:
    """A new subscriber gets ``given`` over ``defaults``; an existing one changes only ``given``."""
    row = _valid({**defaults, **given})
    with engine.begin() as conn:
        old = store.get_by_email(conn, row.email)
        if old is not None:
            kept = Row(0, old.email, old.name, old.sections, old.frequency, old.status)
            row = dataclasses.replace(kept, **{k: getattr(row, k) for k in _EDITABLE if k in given})
        outcome = _upsert(conn, row, now=now)
        _logged(conn, row, old, act, now)
        return outcome


# What a removed reader must not get any more: every kind addressed to them as a reader (not
# shares, from other readers, nor test copies, to staff). Derived, so no kind is forgotten.
SUBSCRIBER_KINDS = tuple(k for k in get_args(OutboxKind) if k not in ("share", "test"))


def remove(engine: Engine, email: str, *, now: datetime, act: Act) -> int | None:
    """Delete a subscriber and stop what is queued for them: None when unknown, else how
    many queued messages were cancelled (in the same transaction)."""
    try:
        email = normalise(email)
    except AddressError:
        return None
    with engine.begin() as conn:
        who = store.get_by_email(conn, email)
        if who is None or not store.remove(conn, email):
            return None
        record(conn, act, email=who.email, subscriber_id=who.id, event="deleted",
               now=now)  # fmt: skip
        # As "delete my data" does: the address stays only as a suppression, so an old list
        # imported later cannot bring the reader back without their own confirmation.
        store.suppress(conn, email=who.email, reason="deleted", now=now)
        return store_outbox.cancel_queued(
            conn, [email, to_ascii(email)], kinds=SUBSCRIBER_KINDS, now=now,
            reason="cancelled: subscriber removed",
        )  # fmt: skip


# Per-row placeholder in the one rendered confirmation (see outbox.fill).
CONFIRM_TOKEN = "%%CONFIRM_TOKEN%%"
_ASK_BATCH = 500


@dataclass(frozen=True, slots=True)
class Asked:
    asked: int = 0  # confirmation mails queued
    already: int = 0  # pending rows an earlier import had asked already
    capped: int = 0  # over confirm_per_address_day today: ask again tomorrow


def ask_to_confirm(
    engine: Engine, settings: Settings, emails: Sequence[str], *, now: datetime
) -> Asked:
    """Queue one confirmation mail per pending, not yet asked address among ``emails``.

    The mails go through the outbox, so the drain paces them by the delivery limits; the
    per-address daily cap of the web form applies too. The message is rendered and inlined
    once (a few tens of milliseconds); each row carries only its address and token. From now
    on the cleanup forgets an address that does not confirm within its pending period.
    """
    # Rendering (Jinja2, premailer) only for the imports that send.
    from publisher.core import tokens
    from publisher.messages import fanout, mime
    from publisher.messages.bulk import after_bulk
    from publisher.messages.enqueue import NewMessage, enqueue, store_content
    from publisher.readers import signup

    identity = fanout.Identity.from_settings(settings)
    rendered = fanout.renderer_for(settings).confirm(
        confirm_url=f"{identity.base_url}/confirm/{CONFIRM_TOKEN}"
    )
    body = mime.compose(rendered=rendered, sender=identity.sender, date=now)
    with engine.connect() as conn:
        todo = store_pending.unasked(conn, list(emails))
    asked = capped = 0
    for start in range(0, len(todo), _ASK_BATCH):
        with engine.begin() as conn:
            cid = store_content(
                conn, key=f"confirm-import:{now.isoformat()}", kind="confirm", body=body, now=now
            )
            batch: list[NewMessage] = []
            for email in todo[start : start + _ASK_BATCH]:
                who = store.get_by_email(conn, email)
                if who is None or who.status != "pending":
                    continue
                key = signup.address_key("confirm:", email)
                count = ratecounters.bump(conn, key, signup.day_start(now))
                if count > settings.confirm_per_address_day:
                    capped += 1
                    continue
                # One request per mail, as the sign-up form makes: the token confirms this
                # request once, and a later request (form or import) replaces it.
                nonce = secrets.randbelow(2**31 - 1) + 1
                store.set_pending(conn, who.id, nonce=nonce, choice=None)
                token = tokens.make(identity.secret, "confirm", (who.id, nonce), now=now)
                batch.append(
                    NewMessage(
                        # The sign-up form's key: one per request, never reused by a later row.
                        dedupe_key=f"confirm:{who.id}:{nonce}", kind="confirm",
                        recipient=to_ascii(who.email), content_id=cid,
                        substitutions={mime.TO: mime.address(who.name, who.email),
                                       CONFIRM_TOKEN: token},
                        expires_in=identity.expiries["confirm"],
                    )
                )  # fmt: skip
                store_pending.mark_asked(conn, who.id, now=now)
            asked += enqueue(conn, batch, now=now, domain=identity.message_id_domain)
    after_bulk(engine, asked)
    return Asked(asked=asked, already=len(set(emails)) - len(todo), capped=capped)


def listing(
    engine: Engine, *, status: SubscriberStatus | None = None, limit: int | None = None
) -> list[Subscriber]:
    with engine.connect() as conn:
        return list(store.iter_subscribers(conn, status=status, limit=limit))


def export(engine: Engine, out: TextIO, *, fmt: str = "csv") -> int:
    """Write every subscriber in the import format; returns how many."""
    rows = listing(engine)
    records: Sequence[dict[str, str]] = [
        {"email": s.email, "name": s.name, "sections": ";".join(s.sections),
         "frequency": s.frequency, "status": s.status}
        for s in rows
    ]  # fmt: skip
    if fmt == "jsonl":
        for rec in records:
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return len(records)
