"""Mailchimp's audience export.

Mailchimp exports an audience as a ZIP of CSV files, one per status: subscribed, unsubscribed
and cleaned members. Every file has "Email Address", the merge fields ("First Name", "Last
Name", …) and MEMBER_RATING, OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP, LATITUDE, …,
LAST_CHANGED, LEID, EUID, NOTES, TAGS; the unsubscribed file adds UNSUB_TIME, UNSUB_CAMPAIGN_*
and UNSUB_REASON, the cleaned one CLEAN_TIME and CLEAN_CAMPAIGN_*. Times are UTC,
"YYYY-MM-DD HH:MM:SS". The status is the file's: read from a "Status" column when one is
there (a contacts-table export), else from UNSUB_TIME / CLEAN_TIME.

A subscribed member is confirmed only with a CONFIRM_TIME: Mailchimp writes it when the
double opt-in link was followed (or the form confirmed); without it the reader is pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from publisher.readers.importformats.common import (
    Fate,
    FormatError,
    Incoming,
    address,
    name,
    rows,
    when,
)

EMAIL = "Email Address"
_STATUS_COLUMNS = ("Status", "STATUS", "Email Marketing")
_KNOWN = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"}


def _status(line: int, rec: dict[str, str]) -> str:
    for col in _STATUS_COLUMNS:
        if rec.get(col):
            word = rec[col].strip().lower()
            if word not in _KNOWN:
                raise FormatError(line, col, f"unknown Mailchimp status {rec[col][:30]!r}")
            return word
    if rec.get("CLEAN_TIME"):
        return "cleaned"
    if rec.get("UNSUB_TIME"):
        return "unsubscribed"
    return "subscribed"


def read(fh: TextIO) -> Iterator[Incoming]:
    for line, rec in rows(fh, needs=(EMAIL,), tool="Mailchimp"):
        status = _status(line, rec)
        confirmed = when(line, "CONFIRM_TIME", rec.get("CONFIRM_TIME", ""))
        fate: Fate
        if status == "cleaned":
            fate, left = "bounced", when(line, "CLEAN_TIME", rec.get("CLEAN_TIME", ""))
        elif status in ("unsubscribed", "archived"):
            fate, left = "unsubscribed", when(line, "UNSUB_TIME", rec.get("UNSUB_TIME", ""))
        else:  # subscribed, pending, transactional: only a recorded confirmation counts
            fate, left = ("confirmed" if confirmed and status == "subscribed" else "pending"), None
        yield Incoming(
            line=line, email=address(line, EMAIL, rec[EMAIL]),
            name=name(line, "First Name", rec.get("First Name", ""), rec.get("Last Name", "")),
            fate=fate, source_status=status,
            subscribed_at=when(line, "OPTIN_TIME", rec.get("OPTIN_TIME", "")),
            confirmed_at=confirmed, left_at=left,
        )  # fmt: skip
