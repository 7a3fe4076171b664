"""Checks and field shapes shared by the settings groups (config.py and its *settings.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field

from publisher.core.addresses import AddressError
from publisher.core.addresses import normalise as normalise_address
from publisher.core.timeparse import parse_duration


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


def _duration(value: object) -> object:
    """A setting's "24h" (file or environment) → timedelta; a timedelta (code, tests) stays.
    Anything else (a bare TOML number: seconds or minutes?) is refused."""
    if isinstance(value, str):
        return parse_duration(value)  # ParseError is a ValueError: pydantic reports it
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"not a duration: {value!r} (use e.g. 30m, 24h, 7d)")


# A duration setting: written "90s", "30m", "24h", "7d" or "2w"; read as a timedelta.
Duration = Annotated[timedelta, BeforeValidator(_duration)]


def duration_field(default: str, description: str) -> Any:
    """``default`` as the README shows it ("24h"); the field holds its timedelta."""
    return Field(default=parse_duration(default), description=description)
