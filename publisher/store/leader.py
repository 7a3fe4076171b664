"""Who fires the schedules: one instance, elected with a PostgreSQL advisory lock.

On SQLite there is one writer and one daemon, so the only instance is always the leader.
The lock lives on a dedicated connection: when the leader dies, PostgreSQL ends its session
and releases the lock, and the next instance to poll takes over.

A leader that cannot confirm its lock (the connection failed, the server restarted, any error
at all) has lost it: the session that held it may be gone, and another instance may hold it
now. It steps down at once and tries again on a fresh connection at the next poll; nothing
here ever raises to the caller.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)
# An arbitrary, stable 64-bit key: "publisher" in ASCII, truncated.
LOCK_KEY = 0x7075626C69736865


class LeaderLock:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self.shared = engine.dialect.name == "postgresql"
        self._held = not self.shared
        # poll() runs in the leader loop's thread, confirm() before each job: one connection.
        self._mutex = threading.Lock()
        self.last_error = ""

    @property
    def held(self) -> bool:
        return self._held

    def poll(self) -> bool:
        """Try to take the lock, or check we still have it. Returns whether we lead."""
        if not self.shared:
            return True
        with self._mutex:
            return self._check(acquire=True)

    def confirm(self) -> bool:
        """Whether we still hold the lock, checked on its session now (never acquires)."""
        if not self.shared:
            return True
        with self._mutex:
            return self._held and self._check(acquire=False)

    def _check(self, *, acquire: bool) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                # Session-level lock: while this session lives, the lock is ours.
                self._conn.execute(text("SELECT 1"))
            elif acquire:
                got = self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}
                ).scalar()
                self._held = bool(got)
            self.last_error = ""
        except Exception as exc:  # any failure means the lock is not confirmed
            self.last_error = type(exc).__name__
            log.warning(
                "scheduler lock %s: %s", "lost" if self._held else "not taken",
                type(exc).__name__,
            )  # fmt: skip
            self._drop(unlock=False)
        return self._held

    def release(self) -> None:
        with self._mutex:
            self._drop(unlock=True)

    def _drop(self, *, unlock: bool) -> None:
        was_held, self._held = self._held, not self.shared
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if was_held and unlock:
            with contextlib.suppress(Exception):
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        # Invalidate, not close: a pooled connection would keep the session and the lock. On a
        # dead connection either call may raise (PendingRollbackError, …): it is thrown away.
        with contextlib.suppress(Exception):
            conn.invalidate()
        with contextlib.suppress(Exception):
            conn.close()
