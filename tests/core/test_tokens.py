"""Tokens: ids only, purpose-salted, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.core import tokens

SECRET = "test-secret-key-0123456789"
T = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def test_token_round_trip_and_purpose() -> None:
    tok = tokens.make(SECRET, "unsubscribe", (42,), now=T)
    assert tokens.read(SECRET, "unsubscribe", tok, now=T + timedelta(days=60)) == (42,)
    with pytest.raises(tokens.TokenError):
        tokens.read(SECRET, "preferences", tok, now=T)  # another purpose's salt
    with pytest.raises(tokens.TokenError):
        tokens.read("another-secret-key-000000", "unsubscribe", tok, now=T)
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.read(SECRET, "unsubscribe", tok, now=T + timedelta(days=91))
    with pytest.raises(tokens.TokenError):
        tokens.read(SECRET, "unsubscribe", tok[:-2] + "xx", now=T)


def test_token_carries_ids_not_addresses() -> None:
    tok = tokens.make(SECRET, "confirm", (7, 3), now=T)
    assert tok.split(".")[0] == "7-3"  # readable by anyone: ids only, never an address
    assert tokens.read(SECRET, "confirm", tok, now=T + timedelta(days=6)) == (7, 3)
    with pytest.raises(tokens.TokenError):
        tokens.read(SECRET, "confirm", tok, now=T + timedelta(days=8))
