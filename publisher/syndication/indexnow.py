"""IndexNow: tell search engines (Naver, Bing, …) which article URLs changed.

Every article event (published, updated, retracted) queues its URL for each configured
endpoint, durably, in the ``indexnow`` consumer's cursor transaction. A run POSTs the queue
in batches of up to 10,000 URLs per host, with the protocol's JSON body (host, key,
keyLocation, urlList). The key file is ``/{key}.txt`` on the site (web/syndication.py serves
it; ``feeds_dir/{key}.txt`` is written for nginx). Answers, per the protocol:

- 200, 202: taken; the URLs leave the queue.
- 400 (bad request): our request is malformed, retrying cannot help: ERROR, the batch goes.
- 403 (key not valid): ERROR, and nothing more goes to that endpoint with this key for a day
  (change ``indexnow_key`` or fix the key file; a new key is tried at once).
- 422 (URLs do not belong to the host, or the key does not match): those URLs go (WARNING).
- 429 (too many requests): wait (Retry-After when given, else the backoff), then again.
- anything else, or no answer: backoff (1 min doubling, at most 6 h), then again.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from publisher.core.config import Settings
from publisher.core.httpclient import HttpResponse
from publisher.feeds.sitemaps import write_key_file
from publisher.store import events as store_events
from publisher.store import indexnow as store_indexnow
from publisher.store.indexnow import EndpointState
from publisher.store.types import Engine

log = logging.getLogger(__name__)
BATCH = 10_000  # the protocol's limit per request
MAX_BATCHES = 10  # per endpoint and run: a backlog drains over a few runs
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
REFUSED_WAIT = timedelta(days=1)

__all__ = ["EndpointState", "IndexNowReport", "key_location", "submit_indexnow", "write_key_file"]


class BytesPoster(Protocol):
    def post_bytes(self, url: str, body: bytes, *, headers: dict[str, str]) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class IndexNowReport:
    queued: int
    submitted: int
    dropped: int
    waiting: int


def backoff(failures: int) -> timedelta:
    return min(FIRST_RETRY * int(2 ** max(0, failures - 1)), MAX_RETRY)


def key_location(settings: Settings, host_url: str) -> str:
    parts = urlsplit(host_url)
    return f"{parts.scheme}://{parts.netloc}/{settings.indexnow_key}.txt"


def body_for(settings: Settings, urls: list[str]) -> bytes:
    """The protocol's JSON body; every URL of ``urls`` is on the same host."""
    first = urlsplit(urls[0])
    blob = {
        "host": first.hostname,
        "key": settings.indexnow_key,
        "keyLocation": key_location(settings, urls[0]),
        "urlList": urls,
    }
    return json.dumps(blob, ensure_ascii=False).encode("utf-8")


def _by_host(rows: list[tuple[int, str]]) -> dict[str, list[tuple[int, str]]]:
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        groups[urlsplit(row[1]).netloc.lower()].append(row)
    return groups


@dataclass
class _Outcome:
    done: bool  # the URLs leave the queue
    stop: bool  # nothing more to this endpoint in this run
    failure: str = ""  # counts towards the backoff
    wait: timedelta | None = None  # explicit wait (429 Retry-After, 403)
    refused: bool = False


def _judge(endpoint: str, answer: HttpResponse, n: int) -> _Outcome:
    status = answer.status
    text = answer.body[:200].decode("utf-8", "replace").strip()
    if status in (200, 202):
        return _Outcome(done=True, stop=False)
    if status == 400:
        log.error("indexnow %s: 400 bad request for %d URLs (dropped): %s", endpoint, n, text)
        return _Outcome(done=True, stop=False)
    if status == 403:
        log.error(
            "indexnow %s: 403 key not valid (is the key file served at keyLocation?); "
            "stopped until indexnow_key changes or for a day: %s", endpoint, text,
        )  # fmt: skip
        return _Outcome(False, True, f"HTTP 403 {text}", REFUSED_WAIT, refused=True)
    if status == 422:
        log.warning("indexnow %s: 422, %d URLs not of the host or key; dropped", endpoint, n)
        return _Outcome(done=True, stop=False)
    if status == 429:
        retry = answer.headers.get("retry-after", "")
        wait = timedelta(seconds=int(retry)) if retry.isdigit() else None
        return _Outcome(False, True, "HTTP 429 too many requests", wait)
    return _Outcome(False, True, f"HTTP {status} {text}".strip())


def _submit_endpoint(
    settings: Settings, engine: Engine, client: BytesPoster, endpoint: str, now: datetime
) -> tuple[int, int]:
    """(URLs submitted, URLs dropped) for one endpoint."""
    with engine.connect() as conn:
        st = store_indexnow.state(conn, endpoint)
    if st.next_attempt_at is not None and st.next_attempt_at > now:
        key_changed = st.refused_key is not None and st.refused_key != settings.indexnow_key
        if not key_changed:
            return 0, 0  # backing off, or refused this very key: wait
    submitted = dropped = 0
    for _ in range(MAX_BATCHES):
        with engine.connect() as conn:
            rows = store_indexnow.waiting(conn, endpoint, limit=BATCH)
        if not rows:
            break
        for group in _by_host(rows).values():
            urls = [u for _, u in group]
            try:
                answer = client.post_bytes(
                    endpoint, body_for(settings, urls),
                    headers={"content-type": "application/json; charset=utf-8"},
                )  # fmt: skip
                outcome = _judge(endpoint, answer, len(urls))
            except Exception as exc:  # unreachable, timeout: try again later
                outcome = _Outcome(False, True, str(exc))
            with engine.begin() as conn:
                if outcome.done:
                    store_indexnow.remove(conn, [i for i, _ in group])
                    if answer.status in (200, 202):
                        submitted += len(urls)
                    else:
                        dropped += len(urls)
                    store_indexnow.set_state(
                        conn, endpoint, failures=0, next_attempt_at=None, refused_key=None,
                        last_error="",
                    )  # fmt: skip
                    continue
                failures = st.failures + 1
                wait = outcome.wait or backoff(failures)
                store_indexnow.set_state(
                    conn, endpoint, failures=failures, next_attempt_at=now + wait,
                    refused_key=settings.indexnow_key if outcome.refused else None,
                    last_error=outcome.failure,
                )  # fmt: skip
                log.warning("indexnow %s: %s; next try at %s", endpoint, outcome.failure,
                            (now + wait).isoformat())  # fmt: skip
                return submitted, dropped
    return submitted, dropped


def submit_indexnow(
    settings: Settings, engine: Engine, client: BytesPoster, *, now: datetime
) -> IndexNowReport:
    """Queue the URLs of new article events, then submit each endpoint's queue."""
    endpoints = settings.indexnow_endpoints
    if not endpoints or not settings.indexnow_key:
        return IndexNowReport(0, 0, 0, 0)
    write_key_file(settings)
    with engine.begin() as conn:
        start = store_events.last_seq_before(conn, now - timedelta(days=1))
        queued = store_indexnow.take_events(conn, endpoints, start=start, now=now)
    submitted = dropped = 0
    for endpoint in endpoints:
        ok, gone = _submit_endpoint(settings, engine, client, endpoint, now)
        submitted += ok
        dropped += gone
    with engine.connect() as conn:
        left = sum(store_indexnow.state(conn, e).queued for e in endpoints)
    return IndexNowReport(queued, submitted, dropped, left)


def status(settings: Settings, engine: Engine) -> list[EndpointState]:
    with engine.connect() as conn:
        return [store_indexnow.state(conn, e) for e in settings.indexnow_endpoints]
