"""An IMAP mailbox over TLS: the only importer of IMAPClient.

Unseen messages are read without marking them (``BODY.PEEK[]``), a batch at a time, their
sizes asked first so a message over ``inbound_max_bytes`` is never downloaded. After the
batch's effects are committed, understood messages are flagged ``\\Seen`` and the rest moved
to the unmatched mailbox (created when missing). A crash in between leaves them unseen: the
next poll finds their records and applies nothing twice.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Sequence
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from publisher.core.inboundsettings import ImapInbound
from publisher.inbound.effects import Rules
from publisher.inbound.maildir import Tally
from publisher.inbound.message import Raw
from publisher.inbound.process import Item, OnOutcome, apply_batch
from publisher.store.types import Engine

BATCH = 50
TIMEOUT = 60.0


def _context(source: ImapInbound) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=source.ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(source: ImapInbound) -> IMAPClient:
    """Logged in, over TLS (implicit, or STARTTLS before the password is sent)."""
    context = _context(source)
    client = IMAPClient(source.host, port=source.port, ssl=not source.starttls,
                        ssl_context=context, timeout=TIMEOUT)  # fmt: skip
    if source.starttls:
        client.starttls(context)
    client.login(source.username, source.password)
    return client


def _fetch(client: IMAPClient, uids: Sequence[int], limit: int) -> list[Item]:
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    small = [u for u in uids if int(sizes.get(u, {}).get(b"RFC822.SIZE", 0)) <= limit]
    bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
    items: list[Item] = []
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        body = bodies.get(uid, {}).get(b"BODY[]")
        if uid in small and isinstance(body, bytes):
            items.append(Item(Raw(body, size=len(body)), f"uid:{uid}"))
        else:
            items.append(Item(Raw(b"", too_big=True, size=size), f"uid:{uid}"))
    return items


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        try:
            client.create_folder(folder)
        except IMAPClientError:
            if not client.folder_exists(folder):
                raise


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    if not uids:
        return
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    client.copy(uids, folder)
    client.delete_messages(uids)
    client.expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()


def poll(
    source: ImapInbound, engine: Engine, rules: Rules, *, now: datetime, limit: int,
    on_outcome: OnOutcome | None = None,
) -> Tally:  # fmt: skip
    tally = Tally()
    client = connect(source)
    try:
        _ensure_folder(client, source.unmatched_folder)
        client.select_folder(source.folder)
        uids = sorted(int(u) for u in client.search(["UNSEEN"]))
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            items = _fetch(client, batch, limit)
            done = apply_batch(engine, rules, items, source=f"imap:{source.name}", now=now,
                               limit=limit, on_outcome=on_outcome)  # fmt: skip
            keep = [u for u, a in zip(batch, done, strict=True) if a.keep_unmatched]
            seen = [u for u in batch if u not in keep]
            if seen:
                client.add_flags(seen, [b"\\Seen"])
            _move(client, keep, source.unmatched_folder)
            for applied in done:
                tally.add(applied, applied.keep_unmatched)
    finally:
        with contextlib.suppress(IMAPClientError, OSError):
            client.logout()
    return tally
