"""Preflight: open and test every resource the daemon will use, before it starts.

`publisher check` and `publisher run` both call ``problems``. Each problem is one line that
starts with the settings key to fix. Nothing here changes state: no database file, feeds
folder or Maildir is created, no message is sent.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from publisher.analytics.scanners import Scanners
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.core.schedules import Schedules
from publisher.core.timeparse import format_duration
from publisher.store.db import StoreError, driver_reason, make_engine, sqlite_path
from publisher.store.migrate import current_revision, known_revision

Check = Callable[[Settings], list[str]]


def problems(settings: Settings, schedules: Schedules | None, *, network: bool) -> list[str]:
    """Every problem found, in the order an operator would fix them. ``network``: also greet
    the SMTP relay (`check --offline` and `run` skip it: a relay that is down for a while
    must not stop the web pages; mail waits in the outbox)."""
    found: list[str] = []
    checks: list[Check] = [database, settings_problems, listeners, feeds_folder, dkim,
                           inbound_folders, scanners]  # fmt: skip
    for check in checks:
        found.extend(check(settings))
    found.extend(templates(settings, schedules))
    found.extend(mail_transport(settings, network=network))
    return found


# --- settings that only make sense together --------------------------------------------------


def settings_problems(s: Settings) -> list[str]:
    found: list[str] = []
    if s.lease_duration.total_seconds() <= s.smtp_data_timeout:
        lease = format_duration(s.lease_duration)
        found.append(
            f"lease_duration: {lease} must be longer than smtp_data_timeout "
            f"({s.smtp_data_timeout:g} s): a row still waiting for its final reply would be "
            "claimed again and sent twice"
        )
    if not s.postal_address.strip() and not s.demo:
        found.append(
            "postal_address: required (every digest footer shows the sender's postal address, "
            "as anti-spam law asks of newsletters)"
        )
    return found


def scanners(s: Settings) -> list[str]:
    """The link-scanner list loads (issue 16): a bad line is named here, not at the first click."""
    try:
        Scanners.load(s.link_scanners_file)
    except InputError as exc:
        return [str(exc)]
    return []


WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]", "*"})


def listeners(s: Settings) -> list[str]:
    """The web and operations listeners cannot share a port (unless each is bound to its own
    address): the second bind would fail only after the first listener had started."""
    if not s.ops_port or s.ops_port != s.web_port:
        return []
    hosts = {s.web_host.strip().lower(), s.ops_host.strip().lower()}
    if len(hosts) == 2 and not hosts & WILDCARD_HOSTS:
        return []  # e.g. web on 10.0.0.5:8080, operations on 127.0.0.1:8080
    return [f"ops_port: must differ from web_port (both are {s.web_port})"]


# --- storage ---------------------------------------------------------------------------------


def database(s: Settings) -> list[str]:
    """The database opens and answers; its schema is one this version knows."""
    url = s.database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        # `run` creates it (and `init` migrates it): only its folder must allow that.
        problem = _creatable(path.parent)
        return [f"database_url: cannot create {path}: {problem}"] if problem else []
    if url.startswith("postgresql") and "connect_timeout" not in url:
        url += ("&" if "?" in url else "?") + "connect_timeout=10"  # an unreachable host
    try:
        engine = make_engine(url, create_dirs=False)
    except StoreError as exc:
        return [str(exc)]
    try:
        revision = current_revision(engine)
    except Exception as exc:  # any driver error: the message names it, the key is known
        return [f"database_url: cannot open the database: {driver_reason(exc)}"]
    finally:
        engine.dispose()
    if revision is not None and not known_revision(revision):
        return [
            f"database_url: the database is at revision {revision}, which this version does "
            "not know (a newer publisher migrated it)"
        ]
    return []


def feeds_folder(s: Settings) -> list[str]:
    problem = _writable(s.feeds_dir)
    return [f"feeds_dir: {s.feeds_dir}: {problem}"] if problem else []


def inbound_folders(s: Settings) -> list[str]:
    """Maildir inbound sources and the unmatched folder: messages are moved, files written."""
    found = [
        f"inbound_sources[{i}].path: {src.path}: {problem}"
        for i, src in enumerate(s.inbound_sources)
        if src.kind == "maildir" and (problem := _writable(src.path))
    ]
    if problem := _writable(s.inbound_unmatched_dir):
        found.append(f"inbound_unmatched_dir: {s.inbound_unmatched_dir}: {problem}")
    return found


def _writable(folder: Path) -> str | None:
    """None when files can be written in ``folder`` (or it can be created); else why not.

    An existing folder is tested by writing a file: permission bits say nothing for root or
    for a read-only file system.
    """
    if not folder.exists():
        return _creatable(folder)
    if not folder.is_dir():
        return "not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".publisher-check-"):
            pass
    except OSError as exc:
        return f"not writable ({exc.strerror or exc})"
    return None


def _creatable(folder: Path) -> str | None:
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return None


# --- templates -------------------------------------------------------------------------------


def templates(s: Settings, schedules: Schedules | None) -> list[str]:
    """templates_dir holds every template the mail and the pages need, and each compiles."""
    from publisher.messages import fanout  # rendering (Jinja2, premailer) only when checking it
    from publisher.render.templates import template_problems

    root = s.templates_dir
    if not root.is_dir():
        return [f"templates_dir: {root}: no such folder"]
    names = {"confirm", "article", "alert"} | {
        d.template for d in (schedules.digests if schedules else [])
    }
    needed = ["email/email.css", "web"] + [
        f"email/{n}.{kind}.j2" for n in sorted(names) for kind in ("html", "txt")
    ]
    missing = [n for n in needed if not (root / n).exists()]
    if missing:
        return [f"templates_dir: {root}: missing {', '.join(missing)}"]
    try:
        renderer = fanout.renderer_for(s)
        broken = template_problems(renderer, root)
    except (OSError, UnicodeDecodeError) as exc:
        return [f"templates_dir: {root}: {exc}"]
    return [f"templates_dir: {root}/{b}" for b in broken]


# --- mail ------------------------------------------------------------------------------------


def dkim(s: Settings) -> list[str]:
    from publisher.delivery.dkimsign import key_problem

    problem = key_problem(
        selector=s.dkim_selector, domain=s.dkim_domain,
        key_file=s.dkim_private_key_file, from_address=s.from_address,
    )  # fmt: skip
    return [problem] if problem else []


def mail_transport(s: Settings, *, network: bool) -> list[str]:
    """A Maildir folder must be writable; an SMTP relay must greet (and take the login)."""
    if s.smtp_url.startswith("maildir://"):
        folder = Path(s.smtp_url[len("maildir://") :])
        problem = _writable(folder)
        return [f"smtp_url: {folder}: {problem}"] if problem else []
    if not network:
        return []
    return asyncio.run(_greet(s))


async def _greet(s: Settings) -> list[str]:
    # The drain's own connection code: the greeting, EHLO, STARTTLS and AUTH it will meet.
    from publisher.delivery.mailer import Mailer, RelayUnavailable

    try:
        mailer = Mailer(s.smtp_url, pool_size=1, connect_timeout=s.smtp_connect_timeout)
    except InputError as exc:
        return [str(exc)]
    where = f"{mailer.endpoint.scheme}://{mailer.endpoint.host}:{mailer.endpoint.port}"
    try:
        session = await mailer.acquire()
        mailer.release(session)
    except RelayUnavailable as exc:
        return [f"smtp_url: {where}: the relay did not accept a session: {exc.reply}"]
    except OSError as exc:
        return [f"smtp_url: {where}: cannot connect: {exc.strerror or exc}"]
    finally:
        await mailer.close()
    return []
