"""The one reader of JSON request bodies: every route that takes JSON reads it here.

Routes call it inside the handler, after their dependencies (the API key) have run, so an
unauthenticated client never gets its body read. Anything that is not a JSON value nested at
most MAX_DEPTH deep is a 400 in the API's error shape: never a RecursionError's 500.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

from fastapi import Request

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
