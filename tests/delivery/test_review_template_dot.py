"""An empty value where a line starts must not leave a bare dot line in the prepared message.

The drain's fast path splices values into content that was dot-stuffed with its placeholders
in place. A line that starts with a placeholder is not stuffed; if that placeholder's value is
empty and the template goes on with a dot (or with another empty placeholder and then a dot),
the line sent starts with the dot: the relay takes ``.<CRLF>`` for the end of the message and
reads the rest of the message as SMTP commands.
"""

from __future__ import annotations

import pytest

from publisher.delivery.personalise import Personaliser
from publisher.delivery.smtpwire import prepare
from publisher.messages.enqueue import personalise
from tests.outboxkit import claimed_item


@pytest.mark.parametrize(
    ("body", "subs"),
    [
        (b"To: %%TO%%\r\n\r\n%%NAME%%.\r\nRSET\r\nrest\r\n", {"%%NAME%%": ""}),
        (b"To: %%TO%%\r\n\r\n%%A%%%%B%%.x\r\n", {"%%A%%": "", "%%B%%": ""}),
        (b"To: %%TO%%\r\n\r\n%%A%% %%B%%\r\n%%B%%.\r\n", {"%%A%%": "a", "%%B%%": ""}),
    ],
)
def test_an_empty_value_at_a_line_start_before_a_dot_is_stuffed(
    body: bytes, subs: dict[str, str]
) -> None:
    make = Personaliser(lambda cid: body)
    make.add(1, body)
    item = claimed_item(**{"%%TO%%": "a@b.kr", **subs})
    data = make(item)
    assert data == prepare(personalise(body, item))
    assert not any(line.startswith(b".") and not line.startswith(b"..")
                   for line in data.split(b"\r\n"))  # fmt: skip


def test_placeholders_not_at_a_line_start_keep_the_fast_path() -> None:
    body = b"To: %%TO%%\r\n\r\nHello %%NAME%%.\r\n%%LINK%%\r\n"
    make = Personaliser(lambda cid: body)
    make.add(1, body)
    item = claimed_item(**{"%%TO%%": "a@b.kr", "%%NAME%%": "", "%%LINK%%": ""})
    assert make(item) == prepare(personalise(body, item))
