"""Outgoing HTTP (WebSub pings, polled sources). The only home of httpx."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import httpx

from publisher import __version__
from publisher.core.errors import PublisherError

USER_AGENT = f"publisher/{__version__}"


class HttpError(PublisherError):
    """The request could not be made or answered (connection, timeout, protocol)."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    url: str  # after redirects


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

    def post_bytes(
        self, url: str, body: bytes, *, headers: Mapping[str, str], max_bytes: int = 64 << 10
    ) -> HttpResponse:
        """POST ``body`` as is (webhooks, IndexNow); the answer's body is cut at ``max_bytes``
        (only shown in logs and status)."""
        try:
            with self._client.stream("POST", url, content=body, headers=dict(headers)) as resp:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= max_bytes:
                        break
                names = {k.lower(): v for k, v in resp.headers.items()}
                data = b"".join(chunks)[:max_bytes]
                return HttpResponse(resp.status_code, names, data, str(resp.url))
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise HttpError(f"{url}: {type(exc).__name__}: {exc}") from None

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int = 10 << 20,
        follow_redirects: bool = True,
    ) -> HttpResponse:  # fmt: skip
        """GET following redirects (unless told not to: a 3xx is then the answer); a body over
        ``max_bytes`` is an HttpError, not a truncation."""
        try:
            with self._client.stream(
                "GET", url, headers=dict(headers or {}), follow_redirects=follow_redirects
            ) as resp:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise HttpError(f"{url}: response larger than {max_bytes} bytes")
                    chunks.append(chunk)
                names = {k.lower(): v for k, v in resp.headers.items()}
                return HttpResponse(resp.status_code, names, b"".join(chunks), str(resp.url))
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
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
