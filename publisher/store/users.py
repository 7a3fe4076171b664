"""Named queries for console operators and their sessions (tables of migration 0012)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from publisher.core.vocab import ConsoleRole
from publisher.store.consoleschema import console_sessions, console_users


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    email_key: str
    role: ConsoleRole
    password_hash: str | None
    invite_expires_at: datetime | None
    created_at: datetime
    last_signin_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    user: UserRow
    csrf: str
    last_seen_at: datetime


def _user(r: Any) -> UserRow:
    return UserRow(
        id=r.id, email=r.email, email_key=r.email_key, role=r.role,
        password_hash=r.password_hash, invite_expires_at=r.invite_expires_at,
        created_at=r.created_at, last_signin_at=r.last_signin_at,
    )  # fmt: skip


def get_user(conn: Connection, email_key: str) -> UserRow | None:
    r = conn.execute(select(console_users).where(console_users.c.email_key == email_key)).first()
    return None if r is None else _user(r)


def list_users(conn: Connection) -> list[UserRow]:
    return [_user(r) for r in conn.execute(select(console_users).order_by(console_users.c.id))]


def put_user(
    conn: Connection, *, email: str, email_key: str, role: ConsoleRole, invite_hash: str,
    invite_expires_at: datetime, now: datetime,
) -> bool:  # fmt: skip
    """Add an operator, or give an existing one a new role and sign-in link; True if new."""
    values = {"email": email, "role": role, "invite_hash": invite_hash,
              "invite_expires_at": invite_expires_at}  # fmt: skip
    found = get_user(conn, email_key)
    if found is None:
        conn.execute(insert(console_users).values(email_key=email_key, created_at=now, **values))
        return True
    conn.execute(update(console_users).where(console_users.c.id == found.id).values(**values))
    return False


def remove_user(conn: Connection, email_key: str) -> bool:
    found = get_user(conn, email_key)
    if found is None:
        return False
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == found.id))
    conn.execute(delete(console_users).where(console_users.c.id == found.id))
    return True


def by_invite(conn: Connection, invite_hash: str) -> UserRow | None:
    q = select(console_users).where(console_users.c.invite_hash == invite_hash)
    r = conn.execute(q).first()
    return None if r is None else _user(r)


def set_password(conn: Connection, user_id: int, password_hash: str) -> None:
    """The new password; the sign-in link is used up, and every older session ends."""
    conn.execute(
        update(console_users)
        .where(console_users.c.id == user_id)
        .values(password_hash=password_hash, invite_hash=None, invite_expires_at=None)
    )
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))


def signed_in(conn: Connection, user_id: int, *, now: datetime) -> None:
    q = update(console_users).where(console_users.c.id == user_id).values(last_signin_at=now)
    conn.execute(q)


# -- sessions -------------------------------------------------------------------------


def add_session(conn: Connection, *, id_hash: str, user_id: int, csrf: str, now: datetime) -> None:
    conn.execute(
        insert(console_sessions).values(
            id_hash=id_hash, user_id=user_id, csrf=csrf, created_at=now, last_seen_at=now
        )
    )


def get_session(conn: Connection, id_hash: str) -> SessionRow | None:
    q = (
        select(console_users, console_sessions.c.csrf, console_sessions.c.last_seen_at)
        .join(console_sessions, console_sessions.c.user_id == console_users.c.id)
        .where(console_sessions.c.id_hash == id_hash)
    )
    r = conn.execute(q).first()
    return None if r is None else SessionRow(_user(r), r.csrf, r.last_seen_at)


def touch_session(conn: Connection, id_hash: str, *, now: datetime) -> None:
    q = update(console_sessions).where(console_sessions.c.id_hash == id_hash)
    conn.execute(q.values(last_seen_at=now))


def end_session(conn: Connection, id_hash: str) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


def prune_sessions(conn: Connection, *, idle_before: datetime) -> int:
    q = delete(console_sessions).where(console_sessions.c.last_seen_at < idle_before)
    return conn.execute(q).rowcount
