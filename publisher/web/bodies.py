"""The one reader of JSON request bodies: every route that takes JSON reads it here; and of
form bodies (read_form), for the reader pages and the console alike.

Routes call it inside the handler, after their dependencies (the API key) have run, so an
unauthenticated client never gets its body read. Anything that is not a JSON value nested at
most MAX_DEPTH deep is a 400 in the API's error shape: never a RecursionError's 500.
"""

from __future__ import annotations

import codecs
import json
from email.message import Message
from typing import Any

from fastapi import HTTPException, Request
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData

from publisher.core.storable import unstorable
from publisher.web.errors import ApiError

MAX_DEPTH = 32  # an article is 2 levels deep, a batch 3; nothing legitimate nests further
NOT_JSON = "body is not valid JSON"


def media_type(content_type: str | None) -> str:
    """ "type/subtype" in lower case, parameters dropped ("" when absent or unparseable)."""
    if not content_type:
        return ""
    message = Message()
    message["content-type"] = content_type
    found = message.get_content_type()
    # email.message falls back to text/plain for a value it cannot parse: not what was sent.
    return found if found != "text/plain" or "text/plain" in content_type.lower() else ""


def is_json_type(content_type: str | None) -> bool:
    found = media_type(content_type)
    return found == "application/json" or (
        found.startswith("application/") and found.endswith("+json")
    )


def is_csv_type(content_type: str | None) -> bool:
    return media_type(content_type) == "text/csv"


async def read_json(request: Request, *, any_type: bool = False) -> Any:
    """The body as JSON; ``any_type``: whatever the Content-Type says (sendBeacon)."""
    raw = await request.body()
    if not any_type and not is_json_type(request.headers.get("content-type")):
        raise ApiError(400, "body must be JSON, sent as Content-Type: application/json")
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "body must be JSON (it is empty)")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ApiError(400, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, NOT_JSON) from None
    if _depth_over(value, MAX_DEPTH):
        raise ApiError(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """Without recursion: a value deep enough to matter is the one that would overflow it."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


async def read_object(request: Request, *, any_type: bool = False) -> dict[str, Any]:
    found = await read_json(request, any_type=any_type)
    if not isinstance(found, dict):
        raise ApiError(422, "body must be a JSON object")
    return found


def _foreign_charset(content_type: str | None) -> bool:
    """Whether a multipart body names a charset other than UTF-8. Starlette decodes its fields
    with whatever codec the client names (unicode_escape makes "\\ud800" a lone surrogate,
    utf-7 too), read here with the very parser it uses. No browser sends one: our forms are
    accept-charset="utf-8" and a browser's multipart Content-Type carries no charset."""
    media, params = parse_options_header(content_type or "")
    charset = params.get(b"charset")
    if media != b"multipart/form-data" or charset is None:
        return False
    try:
        return codecs.lookup(charset.decode("latin-1")).name != "utf-8"
    except LookupError:
        return True  # Starlette would fall back to latin-1


async def read_form(request: Request) -> FormData:
    """The form of an urlencoded or multipart body. A 400 (HTTPException: the console answers
    it with its page) for a multipart body in another charset than UTF-8, and for a field
    whose name or value holds a NUL or a lone surrogate: no address, name, slug, note or
    password has one, and the store refuses them in a lookup or a row (PostgreSQL a NUL,
    both a surrogate, which has no UTF-8 form), a 500 where a route passed them on."""
    if _foreign_charset(request.headers.get("content-type")):
        raise HTTPException(400, "a multipart form must be UTF-8 (charset=utf-8, or none)")
    form = await request.form()
    for key, value in form.multi_items():
        if (why := unstorable(key, value if isinstance(value, str) else None)) is not None:
            raise HTTPException(400, f"{key if not unstorable(key) else 'a field name'}: {why}")
    return form
