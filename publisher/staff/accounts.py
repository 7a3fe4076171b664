"""Operators: invitations, passwords, sign-in (rate limited) and sessions.

A session id is random and lives only in the operator's cookie (signed with the site's
secret key); the store keeps its SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.core.addresses import AddressError, canonical, normalise
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.core.vocab import ConsoleRole
from publisher.staff import passwords
from publisher.store import ratecounters
from publisher.store import users as store
from publisher.store.types import Connection, Engine
from publisher.store.users import UserRow

__all__ = [
    "ROLES", "Invitation", "Session", "Throttled", "UserRow", "actor_of", "invite", "sign_in",
]  # fmt: skip
ROLES: tuple[ConsoleRole, ...] = ("viewer", "editor", "admin")
# How often a session's last-seen time is written (the idle timer's resolution).
TOUCH_EVERY = timedelta(minutes=1)


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key(email: str, field: str = "email") -> tuple[str, str]:
    try:
        address = normalise(email)
    except AddressError as exc:
        raise InputError(field, str(exc)) from None
    return address, canonical(address)


@dataclass(frozen=True, slots=True)
class Invitation:
    email: str
    role: ConsoleRole
    token: str
    expires_at: datetime
    new: bool


def invite(engine: Engine, email: str, *, role: str, now: datetime, valid: timedelta) -> Invitation:
    """Add an operator (or re-invite one, with this role): a one-time sign-in link token."""
    chosen = next((r for r in ROLES if r == role), None)
    if chosen is None:
        raise InputError("role", f"must be one of {', '.join(ROLES)}")
    address, key = _key(email)
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        new = store.put_user(
            conn, email=address, email_key=key, role=chosen, invite_hash=_sha(token),
            invite_expires_at=now + valid, now=now,
        )  # fmt: skip
        # A new link also lifts a sign-in lock on the account (someone guessing at it).
        ratecounters.clear(conn, _account_counter(key))
    return Invitation(address, chosen, token, now + valid, new)


def list_users(engine: Engine) -> list[UserRow]:
    with engine.connect() as conn:
        return store.list_users(conn)


def remove(engine: Engine, email: str) -> bool:
    _address, key = _key(email)
    with engine.begin() as conn:
        return store.remove_user(conn, key)


def invited(engine: Engine, token: str, *, now: datetime) -> UserRow | None:
    """The operator a sign-in link names, while it is valid and unused."""
    if not token or len(token) > 100:
        return None
    with engine.connect() as conn:
        user = store.by_invite(conn, _sha(token))
    if user is None or user.invite_expires_at is None or user.invite_expires_at < now:
        return None
    return user


def set_password(engine: Engine, token: str, password: str, *, now: datetime) -> UserRow:
    """Use the sign-in link: the password is set and the link is spent."""
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise InputError("password", f"{passwords.MIN_LENGTH}-{passwords.MAX_LENGTH} characters")
    user = invited(engine, token, now=now)
    if user is None:
        raise InputError("token", "this sign-in link is not valid (used or expired)")
    hashed = passwords.hash_password(password)
    with engine.begin() as conn:
        store.set_password(conn, user.id, hashed)
    return user


class Throttled(Exception):
    """Too many sign-in attempts for this account or this client IP.

    ``first`` is true for the one attempt per (key, window) that crossed a limit: the only
    refusal worth an audit entry (a flood of them would bury the real ones)."""

    def __init__(self, *, first: bool, limit: str) -> None:
        super().__init__(f"too many sign-in attempts ({limit})")
        self.first = first
        self.limit = limit


# The longest actor the audit log keeps: an address is at most 254 characters (RFC 5321).
ACTOR_MAX = 254


def actor_of(email: str) -> str:
    """What the audit log names for a typed address: its canonical form when it is one,
    else a fixed placeholder (never the attacker's text)."""
    if len(email) > ACTOR_MAX:
        return "(not an address)"
    try:
        return canonical(normalise(email))[:ACTOR_MAX]
    except AddressError:
        return "(not an address)"


def _window(now: datetime, minutes: int) -> datetime:
    epoch = int(now.timestamp()) // (minutes * 60) * (minutes * 60)
    return datetime.fromtimestamp(epoch, tz=now.tzinfo)


def _signin_key(email: str) -> str:
    try:
        return _key(email)[1]
    except InputError:
        return email.strip().lower()[:320]


def _count(
    conn: Connection, limits: dict[str, tuple[str, int]], start: datetime
) -> Throttled | None:
    """Count one attempt against every limit, or refuse it. Past a limit nothing is
    written any more: one extra count marks the window as refused (the attempt that
    crossed it is ``first``), and a key over no limit of its own gets no row at all."""
    seen = {key: ratecounters.current(conn, key, start) for key in limits}
    over = [key for key, (_name, most) in limits.items() if seen[key] >= most]
    if over:
        crossed = [key for key in over if seen[key] == limits[key][1]]
        first = any(ratecounters.bump(conn, key, start) == limits[key][1] + 1 for key in crossed)
        return Throttled(first=first, limit=limits[over[0]][0])
    after = {key: ratecounters.bump(conn, key, start) for key in limits}
    late = [key for key in limits if after[key] > limits[key][1]]  # a concurrent attempt won
    if late:
        first = any(after[key] == limits[key][1] + 1 for key in late)
        return Throttled(first=first, limit=limits[late[0]][0])
    return None


def sign_in(
    engine: Engine, settings: Settings, email: str, password: str, *, ip: str, now: datetime
) -> UserRow | None:
    """The operator for these credentials, or None. Counted per account and per IP first,
    so an unknown address costs and answers exactly like a wrong password."""
    key = _signin_key(email)
    start = _window(now, settings.console_signin_window_minutes)
    limits = {
        f"console-signin-ip:{ip}": ("ip", settings.console_signin_per_ip),
        _account_counter(key): ("account", settings.console_signin_per_account),
    }  # the IP first: a client over its limit makes no rows for the addresses it invents
    with engine.begin() as conn:
        refused = _count(conn, limits, start)
        user = None if refused else store.get_user(conn, key)
    if refused is not None:  # raised after the commit: the refusal mark must stay
        raise refused
    ok = passwords.verify(user.password_hash if user else None, password[:1024])
    if not ok or user is None:
        return None
    with engine.begin() as conn:
        store.signed_in(conn, user.id, now=now)
        if user.password_hash and passwords.needs_rehash(user.password_hash):
            store.set_password(conn, user.id, passwords.hash_password(password))
    return user


def _account_counter(key: str) -> str:
    return f"console-signin:{_sha(key)}"


# -- sessions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    user: UserRow
    csrf: str
    id_hash: str


def _mac(secret: str, sid: str) -> str:
    key = hashlib.sha256(("console-session:" + secret).encode("utf-8")).digest()
    return hmac.new(key, sid.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def start_session(engine: Engine, secret: str, user: UserRow, *, now: datetime) -> str:
    """A new session (a new id every sign-in: nothing set before it is kept); the cookie."""
    sid = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        store.add_session(
            conn, id_hash=_sha(sid), user_id=user.id, csrf=secrets.token_urlsafe(24), now=now
        )
    return f"{sid}.{_mac(secret, sid)}"


def _sid(secret: str, cookie: str) -> str | None:
    sid, _, mac = cookie.partition(".")
    # A cookie is any Latin-1 text: _mac encodes the id as ASCII, compare_digest takes no other.
    if not sid or len(cookie) > 200 or not cookie.isascii():
        return None
    if not hmac.compare_digest(mac, _mac(secret, sid)):
        return None
    return sid


def session_for(
    engine: Engine, secret: str, cookie: str | None, *, now: datetime, idle: timedelta
) -> Session | None:
    """The live session a cookie names; an idle one ends here."""
    sid = _sid(secret, cookie) if cookie else None
    if sid is None:
        return None
    id_hash = _sha(sid)
    with engine.connect() as conn:
        found = store.get_session(conn, id_hash)
    if found is None:
        return None
    if now - found.last_seen_at > idle:
        end_session(engine, id_hash)
        return None
    if now - found.last_seen_at > TOUCH_EVERY:
        with engine.begin() as conn:
            store.touch_session(conn, id_hash, now=now)
    return Session(found.user, found.csrf, id_hash)


def end_session(engine: Engine, id_hash: str) -> None:
    with engine.begin() as conn:
        store.end_session(conn, id_hash)


def prune(engine: Engine, *, now: datetime, idle: timedelta) -> int:
    with engine.begin() as conn:
        return store.prune_sessions(conn, idle_before=now - idle)
