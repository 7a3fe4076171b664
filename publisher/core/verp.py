"""VERP: the envelope sender names the message, so a bounce names what bounced.

``bounces@example.kr`` + the outbox row 12345 → ``bounces+9ix-5jbustt7335do@example.kr``.
The token is a short signed id (core/tokens ``make_short``, purpose ``bounce``): a forged
or cut one names nothing. The domain stays the base address's, so the return path stays
aligned with the From domain for DMARC.
"""

from __future__ import annotations

from publisher.core import tokens


def address(base: str, secret: str, outbox_id: int) -> str:
    """The envelope sender of one outbox row."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{tokens.make_short(secret, 'bounce', outbox_id)}@{domain}"


def outbox_id(recipient: str, secret: str) -> int | None:
    """The outbox row a bounce's recipient names, or None (no token, or a forged one)."""
    local, at, _domain = recipient.strip().strip("<>").rpartition("@")
    if not at or "+" not in local:
        return None
    try:
        return tokens.read_short(secret, "bounce", local.rpartition("+")[2])
    except tokens.TokenError:
        return None
