"""Reconfirming advertising consent every two years (정보통신망법 제50조 제8항).

A daily job mails each confirmed reader whose advertising consent is older than
``reconfirm_after`` a message with a signed link; without an answer ``reconfirm_grace``
later, advertising mail stops to them (editorial digests go on). Every step is a consent
log row. The mail goes out as its own outbox kind ``reconfirm`` (expiry ``expiry_reconfirm``,
counted apart in ``outbox status``): unlike a confirmation, every suppression stops it, so a
reader who unsubscribed or bounced meanwhile is not asked.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from publisher.consent.record import Act, consented, record
from publisher.core import tokens
from publisher.core.addresses import to_ascii
from publisher.core.config import Settings
from publisher.core.timeparse import format_duration
from publisher.messages import fanout, mime
from publisher.messages.bulk import after_bulk
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.render.templates import RenderedEmail
from publisher.store import consent as store
from publisher.store import subscribers as store_subscribers
from publisher.store.subscribers import Recipient
from publisher.store.types import Connection, Engine

RECONFIRM_URL = "%%RECONFIRM_URL%%"
_BATCH = 500


def without_lapsed(conn: Connection, people: list[Recipient]) -> list[Recipient]:
    """The recipients of an advertising mail: not those whose consent lapsed."""
    lapsed = store.lapsed_ids(conn)
    return [p for p in people if p.id not in lapsed] if lapsed else people


def _message(settings: Settings) -> RenderedEmail:
    site = settings.site_name
    subject = f"[{site}] 광고성 정보 수신 동의 재확인 (Please reconfirm)"
    grace = format_duration(settings.reconfirm_grace)
    text = (
        f"{site} 뉴스레터의 광고성 정보 수신에 동의하신 지 2년이 지나, 법(정보통신망법 제50조 "
        f"제8항)에 따라 수신 동의 여부를 다시 확인합니다.\n\n"
        f"계속 받으시려면 {grace} 안에 아래 링크를 누르세요:\n{RECONFIRM_URL}\n\n"
        "답이 없으면 광고성 메일은 더 이상 보내지 않습니다(기사 뉴스레터는 계속됩니다).\n"
        f"모든 메일을 그만 받으려면: {mime.UNSUBSCRIBE_URL}\n\n"
        f"You agreed to receive advertising from {site} some time ago. Follow the link above "
        f"within {grace} to keep receiving it; editorial newsletters continue either way.\n"
    )
    page = (
        f"<html><body><p>{html.escape(site)} 뉴스레터의 광고성 정보 수신 동의를 다시 "
        "확인합니다(정보통신망법 제50조 제8항).</p>"
        f'<p><a href="{RECONFIRM_URL}">수신 동의 유지하기 (Keep receiving)</a></p>'
        "<p>답이 없으면 광고성 메일은 더 이상 보내지 않습니다. 기사 뉴스레터는 계속됩니다.</p>"
        f'<p><a href="{mime.UNSUBSCRIBE_URL}">수신거부 (Unsubscribe)</a></p></body></html>'
    )
    return RenderedEmail(subject=subject, html=page, text=text)


@dataclass(frozen=True, slots=True)
class Outcome:
    asked: int = 0
    lapsed: int = 0


def run(engine: Engine, settings: Settings, *, now: datetime) -> Outcome:
    """Ask those due, then stop advertising to those asked who never answered."""
    identity = fanout.Identity.from_settings(settings)
    act = Act("system", identity.secret)
    asked = 0
    body = mime.compose(rendered=_message(settings), sender=identity.sender, date=now)
    while True:
        with engine.begin() as conn:
            due = store.due_for_ask(conn, older_than=now - settings.reconfirm_after, limit=_BATCH)
            if not due:
                break
            cid = store_content(
                conn, key=f"reconfirm:{now.isoformat()}:{asked}", kind="reconfirm", body=body,
                now=now,
            )  # fmt: skip
            batch = []
            for sid, email in due:
                batch.append(_ask(identity, sid, email, cid, now))
                store.mark_asked(conn, sid, now=now)
                record(conn, act, email=email, subscriber_id=sid, event="reconfirm_asked",
                       now=now)  # fmt: skip
            asked += enqueue(conn, batch, now=now, domain=identity.message_id_domain)
    after_bulk(engine, asked)
    with engine.begin() as conn:
        gone = store.due_for_lapse(conn, asked_before=now - settings.reconfirm_grace)
        store.mark_lapsed(conn, [sid for sid, _ in gone], now=now)
        for sid, email in gone:
            record(conn, act, email=email, subscriber_id=sid, event="advertising_lapsed", now=now)
    return Outcome(asked=asked, lapsed=len(gone))


def _ask(
    identity: fanout.Identity, sid: int, email: str, content_id: int, now: datetime
) -> NewMessage:
    values = identity.substitutions(subscriber_id=sid, name="", email=email, now=now)
    token = tokens.make(identity.secret, "reconfirm", (sid,), now=now)
    values[RECONFIRM_URL] = f"{identity.base_url}/reconfirm/{token}"
    return NewMessage(
        dedupe_key=f"reconfirm:{sid}:{now:%Y%m%d}", kind="reconfirm", recipient=to_ascii(email),
        content_id=content_id, substitutions=values, expires_in=identity.expiries["reconfirm"],
    )  # fmt: skip


def reconfirm(engine: Engine, secret: str, token: str, *, now: datetime, act: Act) -> bool:
    """The reader's answer: advertising consent given again now. False when the link's reader
    is gone or no longer subscribed; TokenError for a bad link."""
    ids, issued = tokens.read_issued(secret, "reconfirm", token, now=now)
    with engine.begin() as conn:
        who = store_subscribers.subscriber_by_id(conn, ids[0], issued=issued)
        if who is None or who.status != "confirmed":
            return False
        consented(conn, who.id, at=now)
        record(conn, act, email=who.email, subscriber_id=who.id, event="reconfirmed", now=now,
               advertising=True)  # fmt: skip
        return True
