"""One JSON error shape for every failure: {"error": {"code", "message", "field"}}.

A 4xx says what was wrong with the request and nothing about the code; a 5xx says nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from publisher.web import plainpages

log = logging.getLogger("publisher.web")

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "rate_limited",
}  # fmt: skip


# A part of the site with pages of its own for a refused request (the console, /admin): a
# browser there gets that page, everything else keeps the JSON shape (the API always does).
ErrorPage = Callable[[Request, int, str], Awaitable[Response]]
_PAGES: dict[str, ErrorPage] = {}


def pages_under(prefix: str, page: ErrorPage) -> None:
    """Answer a browser's refused request under ``prefix`` with ``page`` (status, message)."""
    _PAGES[prefix] = page


def _page_for(request: Request, status: int) -> ErrorPage | None:
    if status < 400 or not plainpages.wants_html(request.headers):
        return None
    path = request.url.path
    return next((f for p, f in _PAGES.items() if path == p or path.startswith(p + "/")), None)


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, field: str | None = None, code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or CODES.get(status, "error")
        self.headers = headers


def error_response(
    status: int, code: str, message: str, field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:  # fmt: skip
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
    headers = dict(exc.headers) if exc.headers else None
    page = _page_for(request, exc.status_code)
    if page is not None:
        answer = await page(request, exc.status_code, message)
        answer.headers.update(headers or {})
        return answer
    if exc.status_code == 404 and _browser_page(request):
        return not_found_page(request)
    return error_response(
        exc.status_code, CODES.get(exc.status_code, "error"), message, headers=headers
    )


def _browser_page(request: Request) -> bool:
    """A browser asking for a page (not the API, which always answers JSON)."""
    path = request.url.path
    return not (path == "/api" or path.startswith("/api/")) and plainpages.wants_html(
        request.headers
    )


def not_found_page(request: Request) -> Response:
    s = request.app.state.settings
    language = request.query_params.get("lang") or s.language
    links = (("subscribe", s.public_base_url.rstrip("/") + "/subscribe"), ("site", s.site_url))
    return plainpages.page(language, "not_found", site=s.site_name, links=links, status=404)


def _unreadable_body(first: Mapping[str, Any]) -> str | None:
    """Why the body could not be read as JSON at all; None for JSON that fails validation."""
    whole_body = tuple(first.get("loc", ())) == ("body",)
    if first.get("type") == "json_invalid":
        return "body is not valid JSON"
    if whole_body and first.get("type") == "missing":
        return "body must be JSON (it is empty)"
    if whole_body and isinstance(first.get("input"), bytes):
        # FastAPI parses only JSON content types; anything else arrives as the raw bytes.
        return "body must be JSON, sent as Content-Type: application/json"
    return None


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    page = _page_for(request, 400)
    if page is not None:  # a browser on a page of its own: a bad id or field is a 400 there
        return await page(request, 400, str(first.get("msg", "invalid request")))
    unreadable = _unreadable_body(first)
    if unreadable is not None:  # the README's bad_request: the request is not JSON at all
        return error_response(400, CODES[400], unreadable)
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or None
    return error_response(422, "invalid", str(first.get("msg", "invalid request")), field)


async def _client_gone(request: Request, _exc: Exception) -> Response:
    # A client that closes its connection mid-body is the client's business, not an error:
    # one DEBUG line, no traceback (else each aborted upload costs ~10 KB of log).
    log.debug("%s %s: the client disconnected before its body arrived",
              request.method, request.url.path)  # fmt: skip
    return Response(status_code=400)  # nobody reads it: the connection is gone


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _internal_error)
