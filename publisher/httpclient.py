"""Outgoing HTTP (WebSub pings, later polled sources). The only home of httpx."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from publisher import __version__

USER_AGENT = f"publisher/{__version__}"


class HttpError(Exception):
    """The request could not be made or answered (connection, timeout, protocol)."""


class HttpClient:
    """A small synchronous client with keep-alive and a bounded timeout."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._client = httpx.Client(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )

    def post_form(self, url: str, data: Mapping[str, str]) -> int:
        """POST application/x-www-form-urlencoded; return the status code."""
        try:
            return self._client.post(url, data=dict(data)).status_code
        except httpx.HTTPError as exc:
            raise HttpError(f"{url}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
