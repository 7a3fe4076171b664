"""Validate records in worker processes, in input order, reading only a little ahead.

Validation (JSON checks and nh3 cleaning) costs more than the database write, and nh3 holds
the GIL, so big imports spread it over processes while the parent keeps reading and writing.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import tzinfo
from itertools import islice
from typing import Any

from publisher.importers import Record
from publisher.intake import FieldError, validate_article
from publisher.models import Article

Validated = Article | list[FieldError] | None  # None: the record could not be read
CHUNK = 250


def default_workers() -> int:
    """Two validation processes where there are two cores or more, none on one core.

    Measured on 2 cores (bench/intake.py): 2 workers 4,609 articles/s, 1 worker 3,921/s;
    the parent mostly waits on the store and the workers, so oversubscribing pays.
    """
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else 2


def validate_serial(records: Iterable[Record], tz: tzinfo) -> Iterator[tuple[Record, Validated]]:
    for record in records:
        value = record.value
        yield record, (None if value is None else validate_article(value, tz=tz))


def _validate_chunk(values: list[dict[str, Any] | None], tz: tzinfo) -> list[Validated]:
    return [None if v is None else validate_article(v, tz=tz) for v in values]


def validate_parallel(
    records: Iterable[Record], tz: tzinfo, *, workers: int
) -> Iterator[tuple[Record, Validated]]:
    """Like validate_serial, with ``workers`` processes; at most 8 chunks per worker in flight."""
    if workers < 1:
        yield from validate_serial(records, tz)
        return
    methods = multiprocessing.get_all_start_methods()
    # fork starts workers in milliseconds; spawn (other platforms) re-imports the package.
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    source = iter(records)
    in_flight: deque[tuple[list[Record], Future[list[Validated]]]] = deque()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        while True:
            chunk = list(islice(source, CHUNK))
            if chunk:
                values = [r.value for r in chunk]
                in_flight.append((chunk, pool.submit(_validate_chunk, values, tz)))
            if in_flight and (not chunk or len(in_flight) >= 8 * workers):
                done, future = in_flight.popleft()
                yield from zip(done, future.result(), strict=True)
            if not chunk and not in_flight:
                return
