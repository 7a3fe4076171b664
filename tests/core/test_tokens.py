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


# --- the fast signer (issue 19): the same bytes as itsdangerous, so mailed links keep working ---

# Minted by the itsdangerous-only signer before the fast path existed (same secret, same T):
# a reader's link in a digest already sent must still be this token, and still verify.
MAILED = {
    ("unsubscribe", (42,)): "42.awS3YA.JEJnGI_Y4L34W6weI7erM0aAlYo",
    ("preferences", (1234567,)): "1234567.awS3YA.Gbne6qYGsgxGVLpmBqAzsZSGqzA",
    ("click-reader", (9,)): "9.awS3YA.Ku8h15rQhCzGNhSq1PqQgI-svaQ",
    ("confirm", (7, 3)): "7-3.awS3YA.dYqS28C-vWhvkyBBHhbClg3ZdTs",
}


def _itsdangerous(secret: str, purpose: str, payload: str, at: datetime) -> str:
    """What itsdangerous's own TimestampSigner makes, with its defaults, at ``at``."""
    from itsdangerous import TimestampSigner

    class At(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(at.timestamp())

    return At(secret, salt=f"publisher.{purpose}").sign(payload).decode("ascii")


@pytest.mark.parametrize(("purpose", "ids"), list(MAILED))
def test_fast_tokens_equal_the_links_already_mailed(
    purpose: tokens.Purpose, ids: tuple[int, ...]
) -> None:
    assert tokens.make(SECRET, purpose, ids, now=T) == MAILED[purpose, ids]
    if len(ids) == 1:
        assert tokens.signer(SECRET, purpose, now=T)(ids[0]) == MAILED[purpose, ids]
    assert tokens.read(SECRET, purpose, MAILED[purpose, ids], now=T + timedelta(days=1)) == ids


def test_fast_tokens_equal_itsdangerous_for_any_secret_id_and_time() -> None:
    secrets = [SECRET, "k", "비밀-키-" * 20, "x" * 200]  # short, non-ASCII, longer than a block
    times = [T, T + timedelta(seconds=1), datetime(2031, 5, 17, 3, 4, 5, 678, tzinfo=UTC)]
    for secret in secrets:
        for at in times:
            for purpose in ("unsubscribe", "preferences", "click-reader"):
                sign = tokens.signer(secret, purpose, now=at)
                for ident in (0, 1, 9, 10, 255, 65_536, 1_000_000, 2**40 + 3):
                    expected = _itsdangerous(secret, purpose, str(ident), at)
                    assert sign(ident) == expected
                    assert tokens.make(secret, purpose, (ident,), now=at) == expected
                    assert tokens.read(secret, purpose, expected, now=at) == (ident,)
            assert tokens.make(secret, "confirm", (5, 6, 7), now=at) == _itsdangerous(
                secret, "confirm", "5-6-7", at
            )


def test_fast_signer_falls_back_when_it_would_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were itsdangerous's defaults to change, the probe check keeps its own signing."""
    at = T + timedelta(seconds=17)  # a time no other test cached a signer for
    monkeypatch.setattr(tokens._Minter, "sign", lambda self, payload: payload + ".forged")
    tokens._minter.cache_clear()
    try:
        assert tokens.make(SECRET, "unsubscribe", (42,), now=at) == _itsdangerous(
            SECRET, "unsubscribe", "42", at
        )
        assert tokens.signer(SECRET, "unsubscribe", now=at)(42) == _itsdangerous(
            SECRET, "unsubscribe", "42", at
        )
    finally:
        tokens._minter.cache_clear()


def test_signer_refuses_an_empty_secret() -> None:
    with pytest.raises(tokens.TokenError):
        tokens.signer("", "unsubscribe", now=T)
