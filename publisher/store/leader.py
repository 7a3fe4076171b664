"""Who fires the schedules: one instance, elected with a PostgreSQL advisory lock.

On SQLite there is one writer and one daemon, so the only instance is always the leader.
The lock lives on a dedicated connection: when the leader dies, PostgreSQL ends its session
and releases the lock, and the next instance to poll takes over.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
# An arbitrary, stable 64-bit key: "publisher" in ASCII, truncated.
LOCK_KEY = 0x7075626C69736865


class LeaderLock:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._held = engine.dialect.name != "postgresql"

    @property
    def held(self) -> bool:
        return self._held

    def poll(self) -> bool:
        """Try to take the lock, or check we still have it. Returns whether we lead."""
        if self._engine.dialect.name != "postgresql":
            return True
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                self._conn.execute(text("SELECT 1"))
            else:
                got = self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}
                ).scalar()
                self._held = bool(got)
        except DBAPIError as exc:
            log.warning("leader lock connection lost: %s", exc.__class__.__name__)
            self.release()
        return self._held

    def release(self) -> None:
        was_held, self._held = self._held, self._engine.dialect.name != "postgresql"
        if self._conn is not None:
            if was_held:
                with contextlib.suppress(DBAPIError):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            # Invalidate, not close: a pooled connection would keep the session and the lock.
            with contextlib.suppress(DBAPIError):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None
