"""The drain's fast fill (Template) and the slow one (fill) make the same message."""

from __future__ import annotations

from datetime import UTC, datetime

from publisher.messages.enqueue import Claimed, Template, fill


def test_both_fills_use_the_rows_message_id_whatever_the_substitutions_say() -> None:
    """The Message-ID the outbox records is the one sent: inbound mail is matched by it."""
    item = Claimed(id=1, kind="digest", recipient="a@example.kr", content_id=1,
                   substitutions={"%%MESSAGE_ID%%": "<override@x>", "%%NAME%%": "민지"},
                   message_id="<row@x>", attempts=1,
                   expires_at=datetime(2030, 1, 1, tzinfo=UTC))  # fmt: skip
    body = b"Message-ID: %%MESSAGE_ID%%\r\n\r\n%%NAME%% %%NAME%%"
    fast = Template(body).fill(item)
    assert fast == fill(body, item.substitutions, item.message_id)
    assert fast == "Message-ID: <row@x>\r\n\r\n민지 민지".encode()
