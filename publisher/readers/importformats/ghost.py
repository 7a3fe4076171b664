"""Ghost's members CSV (Members → Export).

Columns: ``id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,
created_at,deleted_at,labels`` (newer versions add ``tiers``). Ghost records no opt-in
confirmation in the export, so a member who receives emails is imported pending (ask them
with ``--send-confirmation``); ``subscribed_to_emails`` false or a ``deleted_at`` →
unsubscribed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from publisher.readers.importformats.common import Incoming, address, flag, name, rows, when


def read(fh: TextIO) -> Iterator[Incoming]:
    for line, rec in rows(fh, needs=("email", "subscribed_to_emails"), tool="Ghost"):
        wants = flag(line, "subscribed_to_emails", rec["subscribed_to_emails"])
        deleted = when(line, "deleted_at", rec.get("deleted_at", ""))
        gone = deleted is not None or not wants
        yield Incoming(
            line=line, email=address(line, "email", rec["email"]),
            name=name(line, "name", rec.get("name", "")),
            fate="unsubscribed" if gone else "pending",
            source_status="deleted" if deleted else ("subscribed" if wants else "unsubscribed"),
            subscribed_at=when(line, "created_at", rec.get("created_at", "")), left_at=deleted,
        )  # fmt: skip
