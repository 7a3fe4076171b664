"""Validate and sanitise one incoming article (a decoded JSON object) into an Article.

Every problem is reported as a FieldError naming the field and the reason; nothing is
half-accepted. Overlong display text is trimmed to the limits below, but a body over
MAX_BODY_BYTES is refused: it is a broken export, not an article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from publisher.core.models import Article, ArticleStatus
from publisher.core.timeparse import parse_rfc3339
from publisher.intake.sanitise import clean_html, strip_illegal

# Documented in README "Articles"; change both together.
MAX_ID = 200
MAX_URL = 2048
MAX_DATA_URL = 256 * 1024
MAX_TITLE = 300
MAX_SUMMARY = 1000
MAX_AUTHOR = 200
MAX_SECTION = 64
MAX_SECTION_NAME = 100
MAX_TAGS = 20
MAX_TAG = 50
MAX_CAPTION = 500
MAX_BODY_BYTES = 1024 * 1024
MAX_IMAGE_TYPE = 100
MAX_IMAGE_LENGTH = 2**31 - 1
REQUIRED = ("id", "url", "title", "published_at")

_SECTION = re.compile(r"^[a-z0-9-]+$")
_SPACE = re.compile(r"\s")
_ID_FORBIDDEN = re.compile(r"[\s/?#]")
# http(s), a plain host name and no port: nothing in it that urlsplit would need to check.
_PLAIN_HTTP_URL = re.compile(
    r"(?i:https?)://[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?:[/?#]|$)",
    re.ASCII,  # no 'ſ' for 's'
)
MAX_PIXELS = 100_000
MAX_CREDIT = 200
_IMAGE_TYPE = re.compile(r"^image/[a-z0-9.+-]+$")
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+)(;[a-z0-9=.-]+)*;base64,([A-Za-z0-9+/=\s]*)$")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class _Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.error = FieldError(field, reason)


def _text(obj: Mapping[str, Any], name: str) -> str:
    """A text field, XML-illegal characters removed and outer whitespace trimmed; "" if absent."""
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(name, f"must be a string, not {type(value).__name__}")
    return strip_illegal(value).strip()


def _required(obj: Mapping[str, Any], name: str) -> str:
    if name not in obj or obj[name] is None:
        raise _Invalid(name, "is required")
    value = _text(obj, name)
    if not value:
        raise _Invalid(name, "must not be empty")
    return value


def _trim(value: str, limit: int) -> str:
    """Cut display text to ``limit`` characters, marking the cut with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def check_url(value: str, name: str) -> str:
    if len(value) > MAX_URL:
        raise _Invalid(name, f"is longer than {MAX_URL} characters")
    if _SPACE.search(value):
        raise _Invalid(name, "must not contain spaces")
    if _PLAIN_HTTP_URL.match(value):
        return value  # the usual shape, passed without the cost of urlsplit
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:  # a broken [IPv6] host, a port that is not a number
        raise _Invalid(name, f"is not a valid URL ({exc}): {value[:60]!r}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Invalid(name, f"must be an absolute http(s) URL, got {value[:60]!r}")
    if not parts.hostname:
        raise _Invalid(name, f"has no host: {value[:60]!r}")
    if not port_ok:
        raise _Invalid(name, f"has port 0: {value[:60]!r}")
    return value


def _external_id(obj: Mapping[str, Any]) -> str:
    raw = obj.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # CMS exports sometimes give numeric ids
    value = _required({"id": raw}, "id")
    if len(value) > MAX_ID:
        raise _Invalid("id", f"is longer than {MAX_ID} characters")
    if _ID_FORBIDDEN.search(value):
        raise _Invalid("id", "must not contain spaces, '/', '?' or '#'")
    return value


def _timestamp(obj: Mapping[str, Any], name: str, tz: tzinfo) -> datetime | None:
    value = _text(obj, name)
    if not value:
        return None
    try:
        return parse_rfc3339(value, tz)
    except ValueError as exc:
        raise _Invalid(name, str(exc)) from None


def _section(obj: Mapping[str, Any]) -> str | None:
    value = _text(obj, "section")
    if not value:
        return None
    if len(value) > MAX_SECTION or not _SECTION.match(value):
        raise _Invalid(
            "section", f"must be 1-{MAX_SECTION} characters from a-z, 0-9 and '-', got {value!r}"
        )
    return value


def _tags(obj: Mapping[str, Any]) -> tuple[str, ...]:
    raw = obj.get("tags")
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        raw = raw.split(",")  # CSV cells carry tags comma-separated
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise _Invalid("tags", "must be a list of strings")
    cleaned = (_trim(_one_line(strip_illegal(t)), MAX_TAG) for t in raw)
    return tuple(dict.fromkeys(t for t in cleaned if t))[:MAX_TAGS]


def _pixels(obj: Mapping[str, Any], key: str) -> int | None:
    raw = obj.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise _Invalid(key, f"must be a whole number of pixels, 1-{MAX_PIXELS}")
    value = int(raw)
    if not 0 < value <= MAX_PIXELS:
        raise _Invalid(key, f"must be a whole number of pixels, 1-{MAX_PIXELS}")
    return value


def _image_meta(obj: Mapping[str, Any]) -> tuple[int | None, int | None, str | None]:
    """The image's width, height and credit (issue 17: ninjs, partner MRSS)."""
    credit = _trim(_one_line(_text(obj, "image_credit")), MAX_CREDIT) or None
    return _pixels(obj, "image_width"), _pixels(obj, "image_height"), credit


def _image(obj: Mapping[str, Any]) -> tuple[str | None, str | None, int | None]:
    """(url, type, length); a data: URL gives its own type and decoded length."""
    url = _text(obj, "image_url") or None
    kind = _text(obj, "image_type") or None
    raw_length = obj.get("image_length")
    length: int | None = None
    if raw_length not in (None, ""):
        if isinstance(raw_length, str) and raw_length.strip().isdecimal():
            raw_length = int(raw_length)  # from CSV; isdecimal, as "²" is a digit int() refuses
        if (
            not isinstance(raw_length, int)
            or isinstance(raw_length, bool)
            or not 0 <= raw_length <= MAX_IMAGE_LENGTH
        ):
            raise _Invalid("image_length", f"must be a whole number of bytes, 0-{MAX_IMAGE_LENGTH}")
        length = raw_length
    if kind is not None and (len(kind) > MAX_IMAGE_TYPE or not _IMAGE_TYPE.match(kind)):
        raise _Invalid("image_type", f"must be an image MIME type like image/jpeg, got {kind!r}")
    if url is not None and url.startswith("data:"):
        if len(url) > MAX_DATA_URL:
            raise _Invalid("image_url", f"data: URL is longer than {MAX_DATA_URL} characters")
        m = _DATA_URL.match(url)
        if not m:
            raise _Invalid("image_url", "data: URL must be data:image/<type>;base64,<data>")
        payload = "".join(m.group(3).split())
        kind = kind or m.group(1)
        length = length if length is not None else len(payload) * 3 // 4 - payload[-2:].count("=")
    elif url is not None:
        check_url(url, "image_url")
    return url, kind, length


def _status(obj: Mapping[str, Any]) -> ArticleStatus:
    value = _text(obj, "status") or "published"
    if value == "published":
        return "published"
    if value == "retracted":
        return "retracted"
    raise _Invalid("status", f"must be 'published' or 'retracted', got {value[:30]!r}")


def _body(obj: Mapping[str, Any], base_url: str) -> str:
    raw = obj.get("content_html")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _Invalid("content_html", f"must be a string, not {type(raw).__name__}")
    # A character is at most 4 bytes: most bodies are cleared without encoding them.
    size = len(raw) if len(raw) * 4 <= MAX_BODY_BYTES else len(raw.encode("utf-8", "replace"))
    if size > MAX_BODY_BYTES:
        raise _Invalid(
            "content_html",
            f"is {size / 1048576:.1f} MB; the limit is {MAX_BODY_BYTES // 1048576} MB",
        )
    return clean_html(raw, base_url=base_url).strip()


def _breaking(obj: Mapping[str, Any]) -> bool:
    """``breaking: true`` asks for a breaking-news alert (issue 15); CSV cells say true/false."""
    raw = obj.get("breaking")
    if raw is None or raw == "":
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "0", "no"):
        return False
    raise _Invalid("breaking", "must be true or false")


def _published(obj: Mapping[str, Any], tz: tzinfo) -> datetime:
    _required(obj, "published_at")
    value = _timestamp(obj, "published_at", tz)
    assert value is not None
    return value


def validate_article(obj: object, *, tz: tzinfo) -> Article | list[FieldError]:
    """An Article, or every problem found (one per field). Naive timestamps are read in ``tz``."""
    if not isinstance(obj, Mapping):
        return [FieldError("", f"expected a JSON object, got {type(obj).__name__}")]
    errors: list[FieldError] = []
    values: dict[str, Any] = {}

    def take(name: str, fn: Any, *args: Any) -> None:
        try:
            values[name] = fn(*args)
        except _Invalid as exc:
            errors.append(exc.error)

    take("external_id", _external_id, obj)
    take("url", lambda: check_url(_required(obj, "url"), "url"))
    take("title", lambda: _trim(_one_line(_required(obj, "title")), MAX_TITLE))
    take("published_at", _published, obj, tz)
    take("updated_at", _timestamp, obj, "updated_at", tz)
    take("summary", lambda: _trim(_text(obj, "summary"), MAX_SUMMARY))
    take("author", lambda: _trim(_one_line(_text(obj, "author")), MAX_AUTHOR))
    take("section", _section, obj)
    take("section_name", lambda: _trim(_one_line(_text(obj, "section_name")), MAX_SECTION_NAME))
    take("tags", _tags, obj)
    take("image", _image, obj)
    take("image_caption", lambda: _trim(_text(obj, "image_caption"), MAX_CAPTION))
    take("image_meta", _image_meta, obj)
    take("status", _status, obj)
    take("content_html", _body, obj, values.get("url", ""))
    take("breaking", _breaking, obj)
    if errors:
        return errors
    image_url, image_type, image_length = values.pop("image")
    values["image_width"], values["image_height"], values["image_credit"] = values.pop("image_meta")
    published: datetime = values["published_at"]
    updated: datetime | None = values.pop("updated_at")
    values["section_name"] = values["section_name"] or None
    values["image_caption"] = values["image_caption"] or None
    return Article(
        **values,
        image_url=image_url,
        image_type=image_type,
        image_length=image_length,
        updated_at=max(updated, published) if updated else published,
    )
