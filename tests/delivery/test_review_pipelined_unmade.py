"""A message that cannot be made after its envelope was pipelined must not cost the next one.

The worker pipelines the next message's envelope (MAIL, RCPT, DATA) behind the current
message, and only personalises that next message afterwards. When personalising fails (a line
break in a header value: header injection refused), the envelope is already on the wire and
the session belongs to that message: the following, innocent message must not be sent on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.delivery.drain import Drain
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from tests.outboxkit import BODY, statuses
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


def _subs(to: str) -> dict[str, str]:
    return {"%%TO%%": to, "%%NAME%%": "독자", "%%UNSUBSCRIBE_URL%%": "https://news.example.kr/u/1"}


async def test_a_pipelined_message_that_cannot_be_made_does_not_defer_the_next(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    injected = _subs("b@example.kr\r\nBcc: victim@example.kr")
    with engine.begin() as conn:
        cid = store_content(conn, key="digest:v1", kind="digest", body=BODY, now=clock.now())
        enqueue(conn, [
            NewMessage("digest:1", "digest", "a@example.kr", cid, _subs("a@example.kr")),
            NewMessage("digest:2", "digest", "b@example.kr", cid, injected),
            NewMessage("digest:3", "digest", "c@example.kr", cid, _subs("c@example.kr")),
        ], now=clock.now(), domain="news.example.kr")  # fmt: skip
    # One connection: message 2's envelope is pipelined behind message 1.
    report = await make_drain(smtpd.url, pool=1).run()
    assert statuses(engine) == {"sent": 2, "failed": 1}, report
    assert smtpd.record.recipients() == Counter({"a@example.kr": 1, "c@example.kr": 1})
    assert all(b"victim" not in data for _rcpt, data in smtpd.record.messages)
    assert report.deferred == 0
