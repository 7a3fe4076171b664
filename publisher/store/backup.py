"""Backups and restores of the whole store.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
while the daemon keeps reading and writing (in WAL mode writers do not block it, and a page
changed under it restarts the copy). The copy goes to a temporary file beside the target and
is renamed into place, so a crash never leaves half a backup under the final name.
PostgreSQL: ``pg_dump --format=custom`` (and ``pg_restore``), when installed.

A restore only goes into an EMPTY database (no tables, or only the empty tables `publisher
init` creates): it never merges into, or overwrites, a store that holds data.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.engine import make_url

from publisher.store.db import StoreError, sqlite_path
from publisher.store.schema import metadata

# Tables whose rows say a database is in use (alembic_version alone does not).
_DATA_TABLES = tuple(t.name for t in metadata.sorted_tables)
_PG_TIMEOUT = 6 * 3600  # seconds: a dump of a large list over a slow link


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    bytes: int
    backend: str


def backup(url: str, dest: Path) -> BackupInfo:
    path = sqlite_path(url)
    if path is not None:
        return _sqlite_backup(path, dest)
    if url.startswith("postgresql"):
        return _pg_dump(url, dest)
    raise StoreError(f"database_url: backups support SQLite files and PostgreSQL, not {url!r}")


def _partial(dest: Path) -> Path:
    """The hidden file a backup is written to before it is renamed into place. It holds
    readers' data: only its owner may read it (mode 0600, before a byte is written)."""
    if not dest.parent.is_dir():
        raise StoreError(f"{dest.parent}: no such folder for the backup")
    tmp = dest.with_name(f".{dest.name}.partial")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return tmp


def _sqlite_backup(source: Path, dest: Path) -> BackupInfo:
    if not source.exists():
        raise StoreError(f"database_url: {source} does not exist")
    tmp = _partial(dest)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)  # all pages in one step: a consistent snapshot
                out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                out.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"backup of {source} failed: {exc}") from None
    os.replace(tmp, dest)
    return BackupInfo(dest, dest.stat().st_size, "sqlite")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StoreError(
            f"{name} is not installed: install the PostgreSQL client tools (apt-get install "
            f"postgresql-client) whose major version is at least the server's"
        )
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=_PG_TIMEOUT,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise StoreError(f"{what} failed: {last}")


def _pg_dump(url: str, dest: Path) -> BackupInfo:
    tool = _tool("pg_dump")
    uri, env = _libpq(url)
    tmp = _partial(dest)
    _run([tool, "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={uri}"], env,
         "pg_dump")  # fmt: skip
    os.replace(tmp, dest)
    return BackupInfo(dest, dest.stat().st_size, "postgresql")


def is_empty(engine: Engine) -> bool:
    """No tables, or only our tables and every one of them without rows."""
    names = set(inspect(engine).get_table_names())
    ours = [n for n in _DATA_TABLES if n in names]
    if names - set(_DATA_TABLES) - {"alembic_version"}:
        return False  # someone else's tables: not a database to restore into
    with engine.connect() as conn:
        return all(
            conn.execute(select(func.count()).select_from(metadata.tables[n])).scalar_one() == 0
            for n in ours
        )


def restore(url: str, engine: Engine, source: Path) -> None:
    """Restore ``source`` into the (empty) database at ``url``; StoreError otherwise."""
    if not source.is_file():
        raise StoreError(f"{source}: no such backup file")
    if not is_empty(engine):
        raise StoreError(
            "database_url: the database is not empty; restore only into an empty database "
            "(a new SQLite file or a new PostgreSQL database)"
        )
    engine.dispose()  # no pooled connection may hold the file or a lock during the restore
    path = sqlite_path(url)
    if path is not None:
        _sqlite_restore(source, path)
    elif url.startswith("postgresql"):
        uri, env = _libpq(url)
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error",
              f"--dbname={uri}", str(source)], env, "pg_restore")  # fmt: skip
    else:
        raise StoreError(f"database_url: restores support SQLite and PostgreSQL, not {url!r}")


def _sqlite_restore(source: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = src.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master")}
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{source}: not a SQLite backup ({exc})") from None
    if ok is None or ok[0] != "ok" or "alembic_version" not in tables:
        raise StoreError(f"{source}: not a publisher backup (or damaged)")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(target)
        try:
            src.backup(out)
        finally:
            out.close()
    except sqlite3.Error as exc:
        raise StoreError(f"restore into {target} failed: {exc}") from None
    finally:
        src.close()
