""" "Send this article by email" (기사 메일전송): limits, log, one enqueued message. No SMTP here.

The message is rendered once per (article version, with/without note) with placeholders for
the sender's name, the note and the block link; each share only fills in substitutions, so a
share costs a few small writes instead of a template render and a CSS inlining.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from publisher.core import tokens
from publisher.core.addresses import to_ascii
from publisher.core.errors import PublisherError
from publisher.core.models import Article
from publisher.messages import mime
from publisher.messages.enqueue import (
    MESSAGE_ID_PLACEHOLDER,
    NewMessage,
    enqueue,
    message_id_for,
    store_content,
)
from publisher.messages.fanout import Identity
from publisher.readers.signup import address_key, day_start
from publisher.render.htmllines import fold_html
from publisher.render.linebudget import check_literal, check_message, check_values, fill_once
from publisher.render.templates import Renderer
from publisher.store import articles as store_articles
from publisher.store import outbox as store_outbox
from publisher.store import ratecounters, sharelog
from publisher.store import suppressions as store_suppressions
from publisher.store.subscribers import suppress
from publisher.store.types import Connection, Engine

SENDER = "%%SHARE_SENDER%%"
NOTE = "%%SHARE_NOTE%%"
BLOCK_URL = "%%SHARE_BLOCK_URL%%"
SENDER_HTML = "%%SHARE_SENDER_HTML%%"
NOTE_HTML = "%%SHARE_NOTE_HTML%%"
NOTE_INDENT = "  "  # the text template indents the note's first line; we indent the rest


class RateLimited(PublisherError):
    """Some share limit is reached; deliberately not saying which."""


class FormUsed(PublisherError):
    """The form this share came from was already sent once: a replay, or a double submit."""


@dataclass(frozen=True, slots=True)
class Limits:
    per_ip_hour: int = 5
    per_recipient_day: int = 3
    site_day: int = 2000


Outcome = Literal["sent", "blocked", "missing"]


@dataclass(frozen=True, slots=True)
class Share:
    article_id: str
    recipient: str  # normalised by formcheck.single_address
    sender_name: str
    note: str
    client_ip: str
    # The form's one-time number and the time its token expires: the form is used up in the
    # same transaction that queues the message. None for callers without a form.
    form_nonce: int | None = None
    form_expires: datetime | None = None


class Templates:
    """Composed share messages with placeholders, per article version and note/no note."""

    def __init__(self, renderer: Renderer, identity: Identity, size: int = 256) -> None:
        self._renderer = renderer
        self._identity = identity
        self._size = size
        self._cache: OrderedDict[tuple[str, str, bool], bytes] = OrderedDict()
        self._lock = threading.Lock()  # callers run in worker threads

    def body(self, article: Article, *, with_note: bool, now: datetime) -> tuple[str, bytes]:
        version = hashlib.sha256(
            f"{article.updated_at.isoformat()}|{article.title}|{article.summary}|"
            f"{article.image_url}|{article.url}".encode()
        ).hexdigest()[:16]
        key = (article.external_id, version, with_note)
        content_key = f"share:{article.external_id}:{version}:{int(with_note)}"
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return content_key, found
        rendered = self._renderer.article(
            article=article, sender=SENDER, note=NOTE if with_note else "", block_url=BLOCK_URL
        )
        raw = mime.compose(rendered=rendered, sender=self._identity.sender, date=now)
        # The HTML part gets its own placeholders: its values are escaped, the text's are not.
        cut = raw.find(b"Content-Type: text/html")
        html = raw[cut:].replace(SENDER.encode(), SENDER_HTML.encode())
        body = raw[:cut] + html.replace(NOTE.encode(), NOTE_HTML.encode())
        with self._lock:
            self._cache[key] = body
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return content_key, body


def hash_ip(secret: str, ip: str) -> str:
    """Keyed, so the log cannot be reversed by hashing all IPv4 addresses."""
    return hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


def substitutions(share: Share, *, to: str, block_url: str) -> dict[str, str]:
    """The share's values, each folded into lines that fit a placeholder's byte budget.

    The HTML part gets escaped values, the text part plain ones wrapped at 72 columns.
    """
    return {
        mime.TO: to,
        SENDER: share.sender_name,  # one line of ≤ 200 bytes (formcheck.NAME_BYTES_MAX)
        SENDER_HTML: fold_html(share.sender_name),
        NOTE: mime.fold_text(share.note, indent=NOTE_INDENT),
        NOTE_HTML: fold_html(share.note),
        BLOCK_URL: block_url,
    }


def _form_used(conn: Connection, share: Share) -> bool:
    """Mark the share's form used; True if it already was (the caller's transaction)."""
    if share.form_nonce is None or share.form_expires is None:
        return False
    # Keyed on the token's expiry, so pruning past windows never frees a form still valid.
    return ratecounters.bump(conn, f"form-used:{share.form_nonce}", share.form_expires) > 1


def send(
    engine: Engine, identity: Identity, templates: Templates, share: Share, *,
    limits: Limits, now: datetime,
) -> Outcome:  # fmt: skip
    """Check the article and the limits, log, enqueue: one transaction.

    "blocked" (the recipient refused shares) gets the same answer as "sent". Raises
    RateLimited before anything is written.
    """
    hour = now.replace(minute=0, second=0, microsecond=0)
    ip_hash = hash_ip(identity.secret, share.client_ip)
    with engine.begin() as conn:
        article = store_articles.published_article(conn, share.article_id)
        if article is None:
            return "missing"
        if _form_used(conn, share):
            raise FormUsed()
        content_key, body = templates.body(article, with_note=bool(share.note), now=now)
        over = (
            ratecounters.bump(conn, f"share-ip:{ip_hash}", hour) > limits.per_ip_hour,
            ratecounters.bump(conn, address_key("share-to:", share.recipient), day_start(now))
            > limits.per_recipient_day,
            ratecounters.bump(conn, "share-site", day_start(now)) > limits.site_day,
        )
        if any(over):
            raise RateLimited()  # rolls the counters back too: a refused try costs nothing
        blocked = store_suppressions.is_suppressed(conn, share.recipient, "share")
        share_id = sharelog.log_share(
            conn, article_id=share.article_id, recipient=share.recipient,
            ip_hash=ip_hash, sender_name=share.sender_name, enqueued=not blocked, now=now,
        )  # fmt: skip
        if blocked:
            return "blocked"
        block = tokens.make(identity.secret, "share-block", (share_id,), now=now)
        cid = store_outbox.content_id(conn, content_key)
        if cid is None:
            cid = store_content(conn, key=content_key, kind="share", body=body, now=now)
        values = substitutions(
            share,
            to=to_ascii(share.recipient),
            block_url=f"{identity.base_url}/share-block/{block}",
        )
        # Fits by construction; checked anyway, so a broken message is an error here, not a
        # "500 Line too long" from the relay after the reader was told it was sent.
        check_values(values)
        # No value holds "%%NAME%%" (formcheck refuses "%%"), so the sender's one-pass splice
        # and a splice value after value make the same bytes, and this check sees those bytes.
        check_literal(values)
        dedupe_key = f"share:{share_id}"
        message_id = message_id_for(dedupe_key, identity.message_id_domain)
        check_message(fill_once(body, {**values, MESSAGE_ID_PLACEHOLDER: message_id}))
        msg = NewMessage(
            dedupe_key=dedupe_key, kind="share", recipient=to_ascii(share.recipient),
            content_id=cid, expires_in=identity.expiries["share"], substitutions=values,
        )  # fmt: skip
        enqueue(conn, [msg], now=now, domain=identity.message_id_domain)
        return "sent"


def block(engine: Engine, secret: str, token: str, *, now: datetime) -> None:
    """The footer link: no more shared articles to this recipient (scope ``share``)."""
    ids = tokens.read(secret, "share-block", token, now=now)
    with engine.begin() as conn:
        recipient = sharelog.share_recipient(conn, ids[0])
        if recipient is not None:
            suppress(conn, email=recipient, reason="share_block", now=now, scope="share")
