"""The demo's sample content, made live: views as of now, images served by the demo itself,
and the environment that points every other command at the demo's files.

The samples are fixed files (samples/), dated when they were written. Read as they are, the
views would be days old (an empty most-viewed feed) and the images would point nowhere. The
demo adapts them while loading, and adapts the images of every article it collects from its
inbox the same way (a sample copied there names :8080 too); the files stay valid input for
`articles import` on their own.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime, tzinfo
from pathlib import Path
from urllib.parse import urlsplit

from publisher.core.config import ENV_PREFIX, Settings
from publisher.core.timeparse import parse_rfc3339
from publisher.intake.records import Record
from publisher.store.db import sqlite_path

ROOT = Path(__file__).resolve().parents[2]  # publisher/intake/demodata.py → the checkout
SAMPLES = ROOT / "samples"
IMAGES = SAMPLES / "images"
# The sample articles name their images under this path (on the demo's default address); the
# demo serves the files there, in demo mode only.
IMAGE_PATH = "/demo/images/"
_IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}\.png$")


def load_images(folder: Path = IMAGES) -> dict[str, bytes]:
    """Every sample image by file name: a fixed allow-list, read once (a few KB each)."""
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if _IMAGE_NAME.match(p.name)}


def live_articles(records: Iterable[Record], *, base_url: str) -> Iterator[Record]:
    """The sample articles with their images on the demo's own address (``base_url``).

    An ``image_url`` under IMAGE_PATH is moved to ``base_url``, whatever host the sample names,
    and gets the file's type and size (feed enclosures carry both).
    """
    images = load_images()
    base = base_url.rstrip("/")
    for record in records:
        value = record.value
        url = value.get("image_url") if value is not None else None
        path = urlsplit(url).path if isinstance(url, str) else ""
        name = path[len(IMAGE_PATH) :] if path.startswith(IMAGE_PATH) else ""
        if value is None or name not in images:
            yield record
            continue
        image = {"image_url": base + path, "image_type": "image/png"}
        yield Record(record.line, {**value, **image, "image_length": len(images[name])})


def intake_adapter(settings: Settings) -> Callable[[Iterable[Record]], Iterator[Record]] | None:
    """In demo mode, what every collected record passes through: ``live_articles`` on the
    demo's address, so an article copied from samples/articles.jsonl into the inbox shows its
    image on whatever port the demo runs. None outside demo mode: nothing is touched."""
    if not settings.demo:
        return None
    base = settings.public_base_url

    def adapt(records: Iterable[Record]) -> Iterator[Record]:
        return live_articles(records, base_url=base)

    return adapt


def live_views(records: Iterable[Record], *, now: datetime, tz: tzinfo) -> list[Record]:
    """The sample views moved in time together, so that the newest one is ``now``.

    Their spread (about a day and a half) is kept, so a 24-hour ranking has a recent day to
    rank. Records that cannot be read are passed on unchanged for the import to report.
    """
    items = list(records)
    known: dict[int, datetime] = {}
    for i, record in enumerate(items):
        at = record.value.get("at") if record.value is not None else None
        if isinstance(at, str):
            with suppress(ValueError):  # the import reports it, with its line
                known[i] = parse_rfc3339(at, tz)
    if not known:
        return items
    offset = now - max(known.values())
    return [
        Record(r.line, {**r.value, "at": (known[i] + offset).isoformat()})
        if i in known and r.value is not None
        else r
        for i, r in enumerate(items)
    ]


def absolute_environment(settings: Settings, cwd: Path) -> dict[str, str]:
    """PUBLISHER_* values naming the demo's files by absolute path.

    The demo's defaults are relative to the folder it was started in (var/publisher.db,
    var/mail, feeds/); spelled absolute, the same settings work from any folder. Values that
    are already absolute are left out. templates_dir falls back to the repository's templates
    when it was not set and the current folder has none.
    """
    env: dict[str, str] = {}
    db = sqlite_path(settings.database_url)
    if db is not None and not db.is_absolute():
        query = settings.database_url.partition("?")[2]
        env["database_url"] = f"sqlite:///{cwd / db}" + (f"?{query}" if query else "")
    if settings.smtp_url.startswith("maildir://"):
        folder = Path(settings.smtp_url[len("maildir://") :])
        if not folder.is_absolute():
            env["smtp_url"] = f"maildir://{cwd / folder}"
    for name in ("feeds_dir", "schedules_file", "templates_dir"):
        path = Path(getattr(settings, name))
        if not path.is_absolute():
            env[name] = str(cwd / path)
    templates = cwd / settings.templates_dir
    if "templates_dir" not in settings.model_fields_set and not templates.is_dir():
        env["templates_dir"] = str(ROOT / "templates")
    return {ENV_PREFIX + k.upper(): v for k, v in env.items()}


def export_lines(environ: Mapping[str, str]) -> list[str]:
    """`export NAME=value` for every PUBLISHER_* variable, quoted for a POSIX shell."""
    names = sorted(n for n in environ if n.startswith(ENV_PREFIX))  # PUBLISHER_CONFIG too
    return [f"export {n}={shlex.quote(environ[n])}" for n in names]
