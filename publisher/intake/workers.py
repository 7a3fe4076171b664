"""Prepare records for the store (decode, validate, hash) in worker processes, in input order.

Preparing an article (JSON decoding, nh3 cleaning, the content hash) costs more than writing
it, and nh3 holds the GIL, so big imports spread it over processes while the parent keeps
reading and writing. Workers get raw JSON Lines bytes and send back plain row tuples: both
pickle in a few microseconds, where decoded dicts and Article objects cost several times more.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import tzinfo
from itertools import islice
from typing import Any

from publisher.core.errors import PublisherError
from publisher.intake.records import Item, RawLine, parse_jsonl_line
from publisher.intake.validate import FieldError, validate_article
from publisher.store.articles import ArticleRow, article_row

Prepared = ArticleRow | list[FieldError]
CHUNK = 250
# What a worker gets for one record: raw JSONL bytes, a decoded object, or why it is unreadable.
_Payload = bytes | dict[str, Any] | str


class WorkerDied(PublisherError):
    """A worker process died (killed, out of memory). What was written before stays whole."""


def default_workers() -> int:
    """Two worker processes where there are two cores or more, none on one core.

    Measured on 2 cores (bench/intake.py): about 6,500 articles/s with 2 workers, 3,500/s with
    1 (the parent mostly waits, so one extra process pays) and 5,000/s with 3 (too many).
    """
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else 2


def _payload(item: Item) -> _Payload:
    if isinstance(item, RawLine):
        return item.raw
    if item.value is None:
        return item.error or "unreadable"
    return item.value


def _prepare(payload: _Payload, tz: tzinfo) -> Prepared:
    if isinstance(payload, bytes):
        record = parse_jsonl_line(0, payload)
        payload = record.value if record.value is not None else record.error or "unreadable"
    if isinstance(payload, str):
        return [FieldError("", payload)]
    result = validate_article(payload, tz=tz)
    return result if isinstance(result, list) else article_row(result)


def _prepare_chunk(payloads: list[_Payload], tz: tzinfo) -> list[Prepared]:
    return [_prepare(p, tz) for p in payloads]


def prepare_serial(items: Iterable[Item], tz: tzinfo) -> Iterator[tuple[int, Prepared]]:
    """(line, row or every problem) for each item, in this process."""
    for item in items:
        yield item.line, _prepare(_payload(item), tz)


def prepare_parallel(
    items: Iterable[Item], tz: tzinfo, *, workers: int
) -> Iterator[tuple[int, Prepared]]:
    """Like prepare_serial, with ``workers`` processes; at most 8 chunks per worker in flight."""
    if workers < 1:
        yield from prepare_serial(items, tz)
        return
    methods = multiprocessing.get_all_start_methods()
    # fork starts workers in milliseconds; spawn (other platforms) re-imports the package.
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    source = iter(items)
    in_flight: deque[tuple[list[int], Future[list[Prepared]]]] = deque()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        while True:
            chunk = list(islice(source, CHUNK))
            if chunk:
                lines = [item.line for item in chunk]
                payloads = [_payload(item) for item in chunk]
                in_flight.append((lines, pool.submit(_prepare_chunk, payloads, tz)))
            if in_flight and (not chunk or len(in_flight) >= 8 * workers):
                lines, future = in_flight.popleft()
                try:
                    results = future.result()
                except BrokenProcessPool:
                    raise WorkerDied(
                        "a worker process died (killed, or out of memory?); the articles "
                        "written so far are whole: run the import again (it upserts), or use "
                        "--workers 0"
                    ) from None
                yield from zip(lines, results, strict=True)
            if not chunk and not in_flight:
                return
