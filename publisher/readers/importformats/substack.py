"""Substack's subscriber export (Settings → Export: ``email_list.*.csv``).

Columns: ``email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at``.
``active_subscription`` is about a paid plan, not about mail. Substack records no opt-in
confirmation: subscribers are imported pending; ``email_disabled`` true → unsubscribed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from publisher.readers.importformats.common import Incoming, address, flag, rows, when


def read(fh: TextIO) -> Iterator[Incoming]:
    for line, rec in rows(fh, needs=("email", "email_disabled"), tool="Substack"):
        disabled = flag(line, "email_disabled", rec["email_disabled"])
        plan = rec.get("plan", "") or "free"
        yield Incoming(
            line=line, email=address(line, "email", rec["email"]), name="",
            fate="unsubscribed" if disabled else "pending",
            source_status=f"{plan}, email {'disabled' if disabled else 'enabled'}",
            subscribed_at=when(line, "created_at", rec.get("created_at", "")),
        )  # fmt: skip
