"""DKIM signing: the only importer of dkimpy. Applied per message at send time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dkim

from publisher.core.errors import PublisherError

# dkimpy signs List-Unsubscribe by default but not List-Unsubscribe-Post (RFC 8058 wants both).
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
    b"content-type", b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)  # fmt: skip


class DkimError(PublisherError, ValueError):  # ValueError: dkimpy's own errors are caught with it
    pass


def sign(message: bytes, *, selector: str, domain: str, private_key: bytes) -> bytes:
    """The message with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
    try:
        header = dkim.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
    except dkim.DKIMException as exc:
        raise DkimError(f"DKIM signing failed: {exc}") from None
    return bytes(header) + message


def signer(*, selector: str, domain: str, key_file: Path) -> Callable[[bytes], bytes]:
    """A ``transform`` hook for the delivery engine."""
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        raise DkimError(f"dkim_private_key_file: cannot read {key_file}: {exc.strerror}") from None

    def _sign(message: bytes) -> bytes:
        return sign(message, selector=selector, domain=domain, private_key=key)

    return _sign


def verify(message: bytes, *, dnsfunc: Callable[..., bytes]) -> bool:
    """Offline verification (tests, `publisher check`): the caller supplies the DNS answer."""
    return bool(dkim.verify(message, dnsfunc=dnsfunc))


def transform_for(
    *, selector: str, domain: str, key_file: str, from_address: str
) -> Callable[[bytes], bytes] | None:
    """The delivery engine's per-message hook from settings; None when DKIM is not configured.

    Call with ``settings.dkim_selector``, ``settings.dkim_domain`` (the From domain if empty),
    ``settings.dkim_private_key_file`` and ``settings.from_address``.

    Raises ``DkimError`` (naming the settings key) for half a configuration, a non-ASCII
    selector or domain, or a key that cannot be read or cannot sign a test message: every
    message would go out unsigned, or fail at send time, so nothing must be sent.
    """
    if problem := _half_configured(selector, key_file):
        raise DkimError(problem)
    if not selector:
        return None
    for key, value in (("dkim_selector", selector), ("dkim_domain", domain)):
        if not value.isascii():
            raise DkimError(f"{key}: {value!r} must be ASCII (a DNS label; use punycode for IDN)")
    sign_ = signer(
        selector=selector,
        domain=domain or from_address.rpartition("@")[2].encode("idna").decode("ascii"),
        key_file=Path(key_file),
    )
    try:
        sign_(_TEST_MESSAGE.replace(b"{from}", from_address.encode("utf-8")))
    except ValueError as exc:  # DkimError; dkimpy also lets base64 and RSA errors through
        raise DkimError(
            f"dkim_private_key_file: {key_file}: cannot sign with this key: {exc}"
        ) from None
    return sign_


def _half_configured(selector: str, key_file: str) -> str | None:
    """A selector without a key file (or the reverse) would silently turn signing off."""
    if bool(selector) == bool(key_file):
        return None
    given, missing = (
        ("dkim_selector", "dkim_private_key_file") if selector
        else ("dkim_private_key_file", "dkim_selector")
    )  # fmt: skip
    return f"{missing}: required when {given} is set (or clear both to send unsigned)"


def key_problem(*, selector: str, domain: str, key_file: str, from_address: str) -> str | None:
    """Preflight: None when DKIM is off or the key loads and signs a test message; else the
    problem, with its settings key (the same check the drain makes before it sends)."""
    try:
        transform_for(
            selector=selector, domain=domain, key_file=key_file, from_address=from_address
        )
    except DkimError as exc:
        return str(exc)
    return None


_TEST_MESSAGE = (
    b"From: <{from}>\r\nTo: <check@example.invalid>\r\nSubject: publisher check\r\n"
    b"Date: Thu, 26 Nov 2026 07:00:00 +0900\r\nMessage-ID: <check@example.invalid>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"DKIM self-test by publisher.\r\n"
)
