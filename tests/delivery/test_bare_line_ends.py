"""A bare CR or LF in a message (a reader's value in the body) never ends the data early."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from publisher.delivery.personalise import Personaliser
from publisher.delivery.smtpwire import prepare
from publisher.messages.enqueue import Claimed


@pytest.mark.parametrize(
    ("body", "wire"),
    [
        (b"a\r.\r\nMAIL FROM:<x@y>\r\n", b"a\r\n..\r\nMAIL FROM:<x@y>\r\n"),
        (b"a\n.\r\nb", b"a\r\n..\r\nb\r\n"),
        (b"a\r\rb\r\n", b"a\r\n\r\nb\r\n"),
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
    ],
)
def test_prepare_makes_every_line_end_crlf_before_stuffing(body: bytes, wire: bytes) -> None:
    assert prepare(body) == wire


def test_a_value_with_a_bare_cr_and_a_dot_cannot_end_the_message() -> None:
    # The end of the data is CRLF "." CRLF; some servers also take CR "." CRLF. A note or a
    # name with such a sequence must arrive as text, not as the end of the message.
    body = b"Subject: x\r\nTo: %%TO%%\r\n\r\nNote: %%NOTE%%\r\nbye\r\n"
    item = Claimed(
        id=1, kind="share", recipient="a@example.kr", content_id=1,
        substitutions={"%%TO%%": "a@example.kr", "%%NOTE%%": "hi\r.\r\nMAIL FROM:<evil@x>"},
        message_id="<m@x>", attempts=1, expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    wire = Personaliser(lambda _cid: body)(item)
    assert b"\r.\r\n" not in wire and b"\n.\r\n" not in wire
    assert b"\r\n..\r\nMAIL FROM:<evil@x>\r\n" in wire
    assert wire.endswith(b"bye\r\n")
