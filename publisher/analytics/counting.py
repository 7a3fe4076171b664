"""Counting clicks honestly: once per (link, client) per window, machines apart.

A click is a machine's when the request is a ``HEAD``, a prefetch (``Sec-Purpose`` or
``Purpose: prefetch``), its User-Agent or address is on the scanner list (scanners.py), or
it is part of a burst: ``burst_links`` different links of one digest variant from one client
(with per-reader links: of one reader's message, from any address) within ``burst_seconds``
(a security gateway opening every link as the message arrives).
The burst is seen only at its n-th click, so the earlier ones are moved from human to
machine then (negative deltas, written in the same batch or the next).

A client is its address and User-Agent, so a client that rotates its User-Agent is a new
one each time. What stops it from ranking an article is the address cap: at most
``per_ip_hour`` people's clicks from one address (an IPv6 client's /64; behind trusted
proxies, the address they saw) on one article per clock hour, whatever the User-Agent.
Clicks over it are machine clicks, reason ``ip-cap`` (the page views' cap, per_source_hour
in intake/pagehits.py, does the same for beacons).

Counts pile up in memory (intake/countbuffer.py, as page views do) and ``flush`` writes them
in one transaction: the click counts, the email views that feed the most-viewed ranking
(human clicks only), the runs' unique-client sketches and, with ``per_reader``, the readers'
own clicks.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from publisher.analytics import sketch
from publisher.analytics.links import Target
from publisher.analytics.scanners import Scanners
from publisher.core.vocab import ClickKind, MachineReason
from publisher.intake.countbuffer import CountBuffer
from publisher.store import clicks as store_clicks
from publisher.store.clicks import ClickBatch, ClickKey, ReaderClick
from publisher.store.types import Engine

log = logging.getLogger(__name__)

MAX_SEEN = 500_000  # (link, client) pairs per generation: about 50 MB
MAX_HELD = 500_000  # reader rows, and unique clients, kept for a store that is down
# Clicks kept per message for the burst rule: enough to see ``burst_links`` links, and a
# flood on one message (a per-reader link from rotating User-Agents) costs O(1) per click.
MAX_GROUP = 64


@dataclass(frozen=True, slots=True)
class Click:
    target: Target  # (run, variant, position, article)
    client: str  # the client's address (an IPv6 client's /64)
    user_agent: str
    head: bool = False
    prefetch: bool = False
    reader: int | None = None  # the subscriber, from a per-reader link
    reader_issued: datetime | None = None  # when that link's reader part was made
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: ClickKind
    reason: MachineReason | None = None
    counted: bool = True  # False: a repeat within the window


@dataclass
class ClickStats:
    human: int = 0
    machine: int = 0
    repeats: int = 0
    moved_to_machine: int = 0  # human clicks found to be part of a burst later
    stored: int = 0


def _who(click: Click) -> int:
    """The client, as the unique-client sketch counts it (hashed on the request path, so a
    flush has only register updates to do while it holds the interpreter)."""
    return sketch.key_hash(f"{click.client}|{click.user_agent}".encode())


# What the recorder keeps between clicks holds only ints, floats, strings, datetimes and
# tuples of them: objects the cyclic garbage collector does not track (CPython untracks such
# a tuple when a collection first looks at it; a table of them is one object to walk). A
# digest's burst of clicks then adds nothing to the collector's full passes, whose pauses
# would otherwise grow with the clicks held and stall every request in flight (README
# "Click analytics → Speed"; tests/analytics/test_gc_footprint.py).
#
# A counted click of one client on one variant, kept for the burst rule:
# (POSIX time, run, variant, position, article, hour, human, client hash, reader row or 0).
_Recent = tuple[float, int, int, int, int, datetime, bool, int, int]
# A reader's own click, as ReaderClick's fields, until the flush makes the rows.
_ReaderRow = tuple[int, int, int, int, datetime, datetime | None]


class ClickRecorder:
    def __init__(
        self,
        engine: Engine,
        scanners: Scanners,
        *,
        window: timedelta = timedelta(minutes=30),
        burst_links: int = 3,
        burst_seconds: float = 3.0,
        flush_every: timedelta = timedelta(seconds=30),
        max_buffered: int = 50_000,
        auto_flush: bool = True,
        per_reader: bool = False,
        per_ip_hour: int | None = None,
    ) -> None:
        """``per_ip_hour``: people's clicks one address may add to one article per clock
        hour (None: no cap)."""
        self._engine = engine
        self._scanners = scanners
        self._window = window.total_seconds()
        self._burst_links = burst_links
        self._burst_seconds = burst_seconds
        self._auto_flush = auto_flush
        self._per_reader = per_reader
        # hash((target, client, agent)) → POSIX time of the last counted click, in two
        # generations of one window each (the page-view recorder's scheme).
        self._seen: dict[int, float] = {}
        self._seen_before: dict[int, float] = {}
        self._generation = 0.0
        # hash of one message's links (_group) → its recent clicks, for the burst rule, in
        # two generations of 4 × burst_seconds: a burst across a new generation is still seen.
        self._recent: dict[int, tuple[_Recent, ...]] = {}
        self._recent_before: dict[int, tuple[_Recent, ...]] = {}
        self._recent_generation = 0.0
        # hash((address, article)) → people's clicks this hour, in two generations (the
        # older one is kept when a flood of addresses fills this one); dropped at the hour.
        self._per_ip_hour = per_ip_hour
        self._caps: dict[int, int] = {}
        self._caps_before: dict[int, int] = {}
        self._cap_hour = -1
        self._buffer: CountBuffer[ClickKey] = CountBuffer(
            flush_every=flush_every, max_buffered=max_buffered
        )
        # Per run, the clients with human clicks since the last flush (and how many): they
        # go into the run's sketch at the flush, unless a burst took their clicks back.
        self._clients: dict[int, dict[int, int]] = {}
        self._readers: dict[int, _ReaderRow] = {}  # by row number, in click order
        # Reader rows handed to a flush, for a burst seen after it (two generations, with
        # _recent's): those rows are deleted by the next flush (_forget).
        self._written: dict[int, _ReaderRow] = {}
        self._written_before: dict[int, _ReaderRow] = {}
        self._forget: list[tuple[int, _ReaderRow]] = []
        self._row_number = 0
        self._hour: tuple[int, datetime] = (-1, datetime.min)
        self._lock = threading.Lock()
        self.stats = ClickStats()

    @property
    def buffered(self) -> int:
        return self._buffer.buffered

    def classify(self, click: Click) -> MachineReason | None:
        """Why this request is a machine's, by itself (the burst rule needs the others)."""
        if click.head:
            return "head"
        if click.prefetch:
            return "prefetch"
        if self._scanners.agent_is_machine(click.user_agent):
            return "scanner-agent"
        if self._scanners.address_is_scanner(click.client):
            return "scanner-network"
        return None

    def record(self, click: Click) -> Verdict:
        at = click.at.astimezone(UTC)
        now = at.timestamp()
        reason = self.classify(click)
        run, variant, position, article = click.target
        hour = self._hour_of(at, now)
        with self._lock:
            # A HEAD or a prefetch has its own slot: the browser's real click that follows
            # it is a read, not a repeat of the machine's request.
            if self._repeat(hash((click.target, click.client, click.user_agent, reason)), now):
                self.stats.repeats += 1
                return Verdict("machine" if reason else "human", reason, counted=False)
            group = 0
            if reason is None and position > 0:
                group = self._group(click)
                reason = self._burst(group, click.target, now, hour, at)
            if reason is None and not self._under_cap(click, now):
                reason = "ip-cap"  # still one of the message's links for the burst rule
            kind: ClickKind = "machine" if reason else "human"
            due = self._buffer.add((run, variant, position, article, kind, reason or "", hour), at)
            who = row = 0
            if reason is None:
                self.stats.human += 1
                who, row = self._count_human(click, run, at)
            else:
                self.stats.machine += 1
            if group and reason != "burst":  # a burst's click was remembered by _burst
                entry = (now, run, variant, position, article, hour, reason is None, who, row)
                self._recent[group] = (*self._recent.get(group, ())[-MAX_GROUP:], entry)
        if due and self._auto_flush:
            self.flush()
        return Verdict(kind, reason)

    def _hour_of(self, at: datetime, now: float) -> datetime:
        """The clock hour of ``at`` (UTC): one object per hour, shared by the keys."""
        number, found = self._hour
        if int(now // 3600) != number:
            found = at.replace(minute=0, second=0, microsecond=0)
            self._hour = (int(now // 3600), found)
        return found

    def _repeat(self, key: int, now: float) -> bool:
        # A new generation every window, or sooner when a flood of new clients fills this
        # one: memory stays bounded (a repeat may then count again, never a click lost).
        if now - self._generation >= self._window or len(self._seen) >= MAX_SEEN:
            self._seen_before, self._seen = self._seen, {}
            self._generation = now
        last = self._seen.get(key)
        if last is None:
            last = self._seen_before.get(key)
        if last is not None and now - last < self._window:
            return True
        self._seen[key] = now
        return False

    def _under_cap(self, click: Click, now: float) -> bool:
        """One more person's click from this address on this article this hour, if under
        the cap (locked). The address alone: a User-Agent is the client's to choose."""
        if self._per_ip_hour is None:
            return True
        hour = int(now // 3600)
        if hour != self._cap_hour:
            self._cap_hour, self._caps, self._caps_before = hour, {}, {}
        elif len(self._caps) >= MAX_SEEN:  # bounded: an address is forgotten after two fills
            self._caps_before, self._caps = self._caps, {}
        run, _variant, _position, article = click.target
        key = hash((click.client, article, 0 if article else run))  # the open pixel: per run
        taken = self._caps.get(key, 0)
        if taken + self._caps_before.get(key, 0) >= self._per_ip_hour:
            return False
        self._caps[key] = taken + 1
        return True

    def _group(self, click: Click) -> int:
        """One message's links: with a per-reader link, whatever addresses they come from (a
        scanner may open each link from another machine); otherwise one client's."""
        run, variant, _position, _article = click.target
        if click.reader:
            return hash((run, variant, click.reader)) or 1
        return hash((run, variant, click.client, click.user_agent)) or 1

    def _burst(
        self, group: int, target: Target, now: float, hour: datetime, at: datetime
    ) -> MachineReason | None:
        """The burst rule (locked): too many links of one variant from one client, quickly.

        A burst's click is remembered here; the caller remembers a click it lets through."""
        if (
            now - self._recent_generation >= 4 * self._burst_seconds
            or len(self._recent) >= MAX_SEEN
        ):
            self._recent_before, self._recent = self._recent, {}
            self._written_before, self._written = self._written, {}
            self._recent_generation = now
        run, variant, position, article = target
        kept = self._recent.get(group)
        if kept is None:  # carried over from the last generation on first use
            kept = self._recent_before.get(group, ())
        recent = tuple(r for r in kept[-MAX_GROUP:] if now - r[0] <= self._burst_seconds)
        if len({r[3] for r in recent} | {position}) < self._burst_links:
            self._recent[group] = recent
            return None
        moved = []
        for r in recent:
            if r[6]:  # an earlier click of the burst: a machine's after all
                _at, run_, variant_, pos_, article_, hour_, _human, who, row = r
                self._buffer.add((run_, variant_, pos_, article_, "human", "", hour_), at, -1)
                self._buffer.add((run_, variant_, pos_, article_, "machine", "burst", hour_), at)
                self.stats.moved_to_machine += 1
                self._uncount(run, who, row)
                r = (*r[:6], False, 0, 0)
            moved.append(r)
        moved.append((now, run, variant, position, article, hour, False, 0, 0))
        self._recent[group] = tuple(moved[-MAX_GROUP:])
        return "burst"

    def _count_human(self, click: Click, run: int, at: datetime) -> tuple[int, int]:
        """Count a person's click in the run's unique clients (and, per reader, keep the
        reader's row); returns the client's hash and the row's number (0: none)."""
        clients = self._clients.setdefault(run, {})
        who = _who(click)
        clients[who] = clients.get(who, 0) + 1
        if self._per_reader and click.reader is not None and click.target[3] > 0:
            _run, _variant, position, article = click.target
            self._row_number += 1
            self._readers[self._row_number] = (
                click.reader,
                run,
                position,
                article,
                at,
                click.reader_issued,
            )
            return who, self._row_number
        return who, 0

    def _uncount(self, run: int, who: int, row: int) -> None:
        """Take back what a click later found part of a burst added: a reader row not yet
        written is dropped, one already handed to a flush is deleted by the next. (The
        unique-client sketch cannot take a client back once written: an estimate.)"""
        clients = self._clients.get(run, {})
        if clients.get(who, 0) > 0:
            clients[who] -= 1
        if not row or self._readers.pop(row, None) is not None:
            return
        written = self._written.pop(row, None) or self._written_before.pop(row, None)
        if written is not None:
            self._forget.append((row, written))

    def _bound_held(self) -> None:
        """While the store is down, what waits for it stays bounded (locked): the oldest
        reader rows and the unique-client sets go first, each loss logged at ERROR; the
        counts themselves are per link and hour, bounded already."""
        over = len(self._readers) - MAX_HELD
        if over > 0:
            for number in list(islice(self._readers, over)):
                del self._readers[number]
            log.error("clicks: the store is down; %d readers' clicks dropped from memory", over)
        if sum(len(seen) for seen in self._clients.values()) > MAX_HELD:
            self._clients = {}
            log.error("clicks: the store is down; unique clients since then dropped from memory")

    def flush(self) -> int:
        """Write what is buffered in one transaction; returns the clicks stored (net)."""
        with self._lock:
            counts, buffered = self._buffer.take()
            clients, self._clients = self._clients, {}
            readers, self._readers = self._readers, {}
            forget, self._forget = self._forget, []
            self._written.update(readers)
        if not counts and not clients and not forget:
            return 0
        sketches: dict[int, bytearray] = {}
        for run, seen in clients.items():
            registers = sketches[run] = sketch.empty()
            for who, n in seen.items():
                if n > 0:
                    sketch.add_hash(registers, who)
        views: dict[tuple[int, datetime], int] = {}
        for (_run, _variant, _pos, article, kind, _reason, hour), n in counts.items():
            if kind == "human" and article > 0:
                views[(article, hour)] = views.get((article, hour), 0) + n
        batch = ClickBatch(
            clicks=counts, email_views=views, readers=[ReaderClick(*r) for r in readers.values()],
            sketches={run: bytes(r) for run, r in sketches.items()},
            forget=[ReaderClick(*r) for _n, r in forget],
        )  # fmt: skip
        try:
            stored = store_clicks.write_batch(self._engine, batch, sketch.merge)
        except Exception:
            with self._lock:
                self._buffer.restore(counts, buffered)
                for run, seen in clients.items():
                    mine = self._clients.setdefault(run, {})
                    for who, n in seen.items():
                        mine[who] = mine.get(who, 0) + n
                self._readers = {**readers, **self._readers}
                self._forget = forget + self._forget
                for number, _row in self._forget:  # taken back meanwhile: never to be written
                    self._readers.pop(number, None)
                self._bound_held()
            raise
        self.stats.stored += stored
        return stored
