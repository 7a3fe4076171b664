"""Messages handed to ``publisher inbound process``: files, or one on standard input (a
Postfix ``pipe`` transport or an alias). What is not understood is kept, as a copy, in the
``inbound_unmatched_dir`` Maildir; standard input is spooled there first, so even a
message too big to read is kept whole, never held in memory."""

from __future__ import annotations

import os
import shutil
import socket
import time
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import BinaryIO

from publisher.inbound.effects import Applied, Rules
from publisher.inbound.maildir import ensure
from publisher.inbound.message import read_bounded
from publisher.inbound.process import Item, apply_batch
from publisher.store.types import Engine

_SEQ = count()


def _unique() -> str:
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    return f"{int(time.time())}.P{os.getpid()}Q{next(_SEQ)}.{host}"


def _one(engine: Engine, rules: Rules, path: Path, *, name: str, source: str, now: datetime,
         limit: int, recipients: tuple[str, ...]) -> Applied:  # fmt: skip
    with open(path, "rb") as f:
        raw = read_bounded(f, limit)
    item = Item(raw, name, recipients)
    return apply_batch(engine, rules, [item], source=source, now=now, limit=limit)[0]


def process_file(
    engine: Engine, rules: Rules, path: Path, *, unmatched: Path, now: datetime, limit: int,
    recipients: tuple[str, ...] = (),
) -> Applied:  # fmt: skip
    applied = _one(engine, rules, path, name=str(path.resolve()), source="file", now=now,
                   limit=limit, recipients=recipients)  # fmt: skip
    if applied.keep_unmatched and not applied.duplicate:
        folder = ensure(unmatched)
        tmp = folder / "tmp" / _unique()
        shutil.copyfile(path, tmp)
        _durable_move(tmp, folder / "new" / tmp.name)
    return applied


def process_stream(
    engine: Engine, rules: Rules, stream: BinaryIO, *, unmatched: Path, now: datetime,
    limit: int, recipients: tuple[str, ...] = (),
) -> Applied:  # fmt: skip
    folder = ensure(unmatched)
    tmp = folder / "tmp" / _unique()
    try:
        with open(tmp, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 16)
            out.flush()
            os.fsync(out.fileno())
        applied = _one(engine, rules, tmp, name=tmp.name, source="stdin", now=now,
                       limit=limit, recipients=recipients)  # fmt: skip
        if applied.keep_unmatched and not applied.duplicate:
            _durable_move(tmp, folder / "new" / tmp.name)
        return applied
    finally:
        tmp.unlink(missing_ok=True)


def _durable_move(tmp: Path, target: Path) -> None:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.rename(tmp, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
