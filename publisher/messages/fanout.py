"""From rendered variants to stored contents and one outbox row per recipient.

Everything personal is a placeholder in the stored bytes and a value on the outbox row, so
a 100k fan-out renders nothing per recipient: it signs two tokens and builds a small dict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.core import tokens
from publisher.core.addresses import domain_of, to_ascii
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.core.tokens import DEMO_SECRET
from publisher.core.vocab import OutboxKind
from publisher.messages import mime
from publisher.messages.enqueue import KINDS, batch_rows, expiry_for, prepare_write, store_content
from publisher.render.linebudget import check_values
from publisher.render.templates import Renderer
from publisher.store.subscribers import Recipient
from publisher.store.types import Connection


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sends, and the URL shapes the web pages answer."""

    sender: mime.Sender
    base_url: str
    secret: str
    list_domain: str
    unsubscribe_mailto: str
    message_id_domain: str
    expiries: Mapping[OutboxKind, timedelta]  # per outbox kind, from the expiry_* settings

    @classmethod
    def from_settings(cls, s: Settings) -> Identity:
        domain = domain_of(s.from_address)
        secret = s.secret_key or (DEMO_SECRET if s.demo else "")
        if not secret:
            raise InputError(
                "secret_key", "required to sign unsubscribe links (set PUBLISHER_SECRET_KEY)"
            )
        return cls(
            sender=mime.Sender(s.from_name or s.site_name, s.from_address, s.reply_to),
            base_url=s.public_base_url.rstrip("/"),
            secret=secret,
            list_domain=s.list_id_domain or domain,
            unsubscribe_mailto=to_ascii(s.unsubscribe_mailto or f"unsubscribe@{domain}"),
            message_id_domain=domain,
            expiries={kind: expiry_for(s, kind) for kind in KINDS},
        )

    def archive_url(self, digest_id: str, run_id: int) -> str:
        return f"{self.base_url}/archive/{digest_id}/{run_id}"

    def list_info(self, name: str, digest_id: str) -> mime.ListInfo:
        return mime.ListInfo(name=name, list_id=f"{digest_id}.{self.list_domain}")

    def substitutions(
        self, *, subscriber_id: int, name: str, email: str, now: datetime
    ) -> dict[str, str]:
        """Per-recipient values in wire form; a different unsubscribe token per recipient."""
        return self.personaliser(now)(subscriber_id, name, email)

    def personaliser(self, now: datetime) -> Callable[[int, str, str], dict[str, str]]:
        """``substitutions`` for many readers at one time, its signers bound once: (subscriber
        id, name, email) → values."""
        unsubscribe = tokens.signer(self.secret, "unsubscribe", now=now)
        preferences = tokens.signer(self.secret, "preferences", now=now)
        base, mailto = self.base_url, self.unsubscribe_mailto

        def values(subscriber_id: int, name: str, email: str) -> dict[str, str]:
            unsub = unsubscribe(subscriber_id)
            found = {
                mime.TO: mime.address(name, email),
                mime.UNSUBSCRIBE_URL: f"{base}/u/{unsub}",
                # Tokens are URL-safe already; only the space needs escaping.
                mime.UNSUBSCRIBE_MAILTO: f"{mailto}?subject=unsubscribe%20{unsub}",
                mime.PREFERENCES_URL: f"{base}/preferences/{preferences(subscriber_id)}",
            }
            # Each fits its placeholder's line budget (render/linebudget.py), or no row is written.
            check_values(found)
            return found

        return values


def personal_links() -> dict[str, str]:
    """What the renderer puts where per-recipient links go."""
    return {"preferences": mime.PREFERENCES_URL, "unsubscribe": mime.UNSUBSCRIBE_URL}


def store_and_enqueue(
    conn: Connection,
    identity: Identity,
    *,
    body: bytes,
    content_key: str,
    recipients: list[Recipient],
    dedupe_prefix: str,
    kind: OutboxKind,
    now: datetime,
    not_before: datetime | None = None,
    extra: Callable[[Recipient], dict[str, str]] | None = None,
) -> int:
    """Store one variant's bytes once and give each recipient a row; returns new rows."""
    cid = store_content(conn, key=content_key, kind=kind, body=body, now=now)
    return prepare_groups(
        conn, identity, groups={cid: recipients}, dedupe_prefix=dedupe_prefix, kind=kind,
        now=now, not_before=not_before, extra=extra,
    )()  # fmt: skip


def prepare_groups(
    conn: Connection,
    identity: Identity,
    *,
    groups: Mapping[int, Sequence[Recipient]],
    dedupe_prefix: str,
    kind: OutboxKind,
    now: datetime,
    not_before: datetime | None = None,
    extra: Callable[[Recipient], dict[str, str]] | None = None,
) -> Callable[[], int]:
    """One row per reader of each stored content (content id → its readers), in one
    statement, in two steps: the rows are built (tokens signed, values checked) now, and the
    returned call writes them, returning new rows, possibly on another thread while the
    caller builds the next batch (streamed.fan_out's overlap). Each content's key must start
    with ``dedupe_prefix``: a run's counts find its rows through its contents
    (store/outboxsql.of_prefix)."""
    values = identity.personaliser(now)
    rows = [
        (f"{dedupe_prefix}{r.id}", to_ascii(r.email), content_id,
         values(r.id, r.name, r.email) | extra(r) if extra else values(r.id, r.name, r.email))
        for content_id, recipients in groups.items()
        for r in recipients
    ]  # fmt: skip
    made = batch_rows(
        rows, kind=kind, expires_in=identity.expiries[kind], not_before=not_before, now=now,
        domain=identity.message_id_domain,
    )  # fmt: skip
    return prepare_write(conn, made, now=now)


def renderer_for(settings: Settings) -> Renderer:
    return Renderer(
        templates_dir=settings.templates_dir,
        site_name=settings.site_name,
        site_url=settings.site_url,
        language=settings.language,
        tz=settings.tz,
        sender_name=settings.from_name or settings.site_name,
        postal_address=settings.postal_address,
        html_budget=settings.html_size_budget,
    )
