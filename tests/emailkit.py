"""Builds the three kinds of message from a fixed store: digest, confirmation, share."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine, select

from publisher.core import messageids, tokens
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.messages import fanout, mime
from publisher.messages.enqueue import fill as fill_message
from publisher.store.schema import contents, outbox
from tests.digestkit import DUE, NOW, add_subscriber, article, load_store, schedules


def digest_messages(engine: Engine, settings: Settings) -> dict[str, bytes]:
    """Personalised digests for two readers with different section choices."""
    load_store(engine)
    add_subscriber(engine, "minsu.kim@example.kr", ("politics", "economy"), name="김민수")
    add_subscriber(engine, "reader@한빛.kr", name="Jane Reader")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.status == "enqueued", result
    out: dict[str, bytes] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(outbox).order_by(outbox.c.id)):
            body = conn.execute(
                select(contents.c.body).where(contents.c.id == row.content_id)
            ).scalar_one()
            subs = json.loads(row.substitutions)
            mid = messageids.sent(row.message_id, row.id)
            out[row.recipient] = fill_message(bytes(body), subs, mid)
    return out


def confirm_message(settings: Settings) -> bytes:
    identity = fanout.Identity.from_settings(settings)
    token = tokens.make(settings.secret_key, "confirm", (1,), now=NOW)
    rendered = fanout.renderer_for(settings).confirm(
        confirm_url=f"{identity.base_url}/confirm/{token}"
    )
    body = mime.compose(rendered=rendered, sender=identity.sender, date=NOW)
    return fill_message(
        body, {mime.TO: mime.address("김민수", "minsu.kim@example.kr")},
        "<confirm-1@news.example.kr>",
    )  # fmt: skip


def share_message(settings: Settings) -> bytes:
    identity = fanout.Identity.from_settings(settings)
    token = tokens.make(settings.secret_key, "share-block", (1,), now=NOW)
    a = article(
        7, "economy", published=DUE - timedelta(hours=3),
        summary="한국은행이 기준금리를 동결했다. 물가 상승률이 둔화하는 가운데 가계부채 증가세가 "
        "여전히 부담으로 작용했다는 분석이 나온다.",
    )  # fmt: skip
    rendered = fanout.renderer_for(settings).article(
        article=a, sender="김민수", note="이 기사 한번 읽어 보세요.",
        block_url=f"{identity.base_url}/share-block/{token}",
    )  # fmt: skip
    body = mime.compose(rendered=rendered, sender=identity.sender, date=NOW)
    return fill_message(body, {mime.TO: "friend@example.kr"}, "<share-1@news.example.kr>")
