"""Atomic, change-only file writes: a reader never sees half a feed, an unchanged feed keeps
its mtime (so Last-Modified and caches stay valid)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (best effort)."""
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def file_stamp(path: Path) -> list[int] | None:
    """Size and modification time of a written file (None when gone): a build compares it
    with what it wrote last to know the file is still intact."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, sync_dir: bool = True) -> None:
    """Temp file in the same folder, fsync, rename over ``path``.

    With ``sync_dir=False`` the caller fsyncs the folder once after a batch of writes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp creates 0600; the web server must read feeds
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def write_if_changed(
    path: Path, data: bytes, *, force: bool = False, sync_dir: bool = True
) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly these bytes. True if written."""
    if not force and same_bytes(path, data):
        return False
    write_atomic(path, data, sync_dir=sync_dir)
    return True
