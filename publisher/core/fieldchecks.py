"""Checks and field shapes shared by the settings groups (config.py and its *settings.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from publisher.core.addresses import AddressError
from publisher.core.addresses import normalise as normalise_address


def http_url(value: str) -> str:
    try:
        host = urlsplit(value).hostname
    except ValueError:  # a broken [IPv6] host
        host = None
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value) or not host:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


def email_address(value: str) -> str:
    if value:
        try:
            normalise_address(value)
        except AddressError as exc:
            raise ValueError(f"{value!r} is not an email address: {exc}") from None
    return value


def duration_field(default: str, description: str) -> Any:
    return Field(default=default, description=description, pattern=r"^\s*\d+\s*[smhdw]\s*$")
