"""A Maildir the local MTA delivers into: each message in ``new/`` is processed, and moved
only after its effect is committed: to ``cur/`` (seen), or, when it was not understood or
named none of our messages, to the ``.unmatched`` Maildir++ folder for the operator.

A crash after the commit and before the move leaves the message in ``new/``; the next pass
finds its record and moves it without applying anything again.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from publisher.core.errors import PublisherError
from publisher.inbound.effects import Applied, Rules
from publisher.inbound.message import read_bounded
from publisher.inbound.process import Item, OnOutcome, apply_batch
from publisher.store.types import Engine

log = logging.getLogger("publisher.inbound")

BATCH = 200  # messages per transaction: one commit per batch, not per message


@dataclass
class Tally:
    processed: int = 0
    kept: int = 0  # moved to the unmatched folder (or kept for the operator)
    by_outcome: dict[str, int] = field(default_factory=dict)

    def add(self, applied: Applied, kept: bool) -> None:
        self.processed += 1
        self.kept += int(kept)
        name = "duplicate" if applied.duplicate else applied.outcome
        self.by_outcome[name] = self.by_outcome.get(name, 0) + 1


class NotAMaildir(PublisherError):
    """An inbound source's path has no new/ folder: a typo, or the MTA never delivered."""


def ensure(folder: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder


def _names(folder: Path) -> Iterator[list[str]]:
    batch: list[str] = []
    with os.scandir(folder / "new") as it:
        for entry in it:
            if entry.is_file() and not entry.name.startswith("."):
                batch.append(entry.name)
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
    if batch:
        yield batch


def _read(folder: Path, name: str, limit: int) -> Item | None:
    try:
        with open(folder / "new" / name, "rb") as f:
            raw = read_bounded(f, limit)
    except FileNotFoundError:  # taken by another pass meanwhile
        return None
    except OSError as exc:  # unreadable (permissions): left in new/, the others go on
        log.warning("inbound: cannot read %s: %s; left in new/", name, exc.strerror or exc)
        return None
    return Item(raw, name.partition(":")[0])


def _move(folder: Path, name: str, keep: bool, unmatched: Path) -> None:
    base = name.partition(":")[0]
    target = unmatched / "new" / base if keep else folder / "cur" / f"{base}:2,S"
    with contextlib.suppress(FileNotFoundError):
        os.rename(folder / "new" / name, target)


def drain(
    folder: Path, engine: Engine, rules: Rules, *, source: str, now: datetime, limit: int,
    unmatched_name: str = "unmatched", on_outcome: OnOutcome | None = None,
) -> Tally:  # fmt: skip
    """Process every message in ``new/``, a batch per transaction.

    The folder itself is never created here: a mistyped path would otherwise become an
    empty Maildir nobody delivers to, and bounces would go unread without a word."""
    if not (folder / "new").is_dir():
        raise NotAMaildir(
            f"{folder} is not a Maildir (no new/ folder): check inbound_sources' path, or "
            f"create it (mkdir -p {folder}/cur {folder}/new {folder}/tmp) if nothing was "
            "delivered there yet"
        )
    unmatched = ensure(folder / f".{unmatched_name}")
    tally = Tally()
    for names in _names(folder):
        read = [(n, item) for n in names if (item := _read(folder, n, limit)) is not None]
        done = apply_batch(engine, rules, [i for _n, i in read], source=source, now=now,
                           limit=limit, on_outcome=on_outcome)  # fmt: skip
        for (name, _item), applied in zip(read, done, strict=True):
            keep = applied.keep_unmatched
            _move(folder, name, keep, unmatched)
            tally.add(applied, keep)
    return tally
