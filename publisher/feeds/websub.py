"""WebSub publishing: tell each hub which feed URLs changed.

Pending pings are written to ``feeds_dir/.websub-pending.json`` *before* any network I/O, and
a ping leaves that file only after the hub answered 2xx. A failed ping is logged and tried
again on the next build; nothing here ever raises to the caller.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from publisher.feeds.writer import write_if_changed

log = logging.getLogger(__name__)
PENDING_FILE = ".websub-pending.json"


class FormPoster(Protocol):
    def post_form(self, url: str, data: dict[str, str]) -> int: ...


@dataclass(frozen=True, slots=True)
class PingReport:
    sent: int
    failed: int
    pending: int  # still waiting for the next build


def _load(path: Path) -> set[tuple[str, str]]:
    try:
        raw = json.loads(path.read_text("utf-8"))
        return {(str(h), str(u)) for h, u in raw}
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, TypeError):
        log.warning("websub: %s is damaged; starting with no pending pings", path)
        return set()


def _save(path: Path, pending: set[tuple[str, str]]) -> None:
    data = json.dumps(sorted(pending), indent=1, ensure_ascii=False).encode("utf-8")
    try:
        write_if_changed(path, data)
    except OSError as exc:
        log.error("websub: cannot record pending pings in %s: %s", path, exc)


def publish(
    *,
    hubs: Sequence[str],
    changed_urls: Iterable[str],
    state_dir: Path,
    client: FormPoster,
) -> PingReport:
    """Queue a ping per (hub, changed feed URL), then send everything queued."""
    path = state_dir / PENDING_FILE
    wanted = set(hubs)
    pending = {(h, u) for h, u in _load(path) if h in wanted}  # a removed hub is forgotten
    pending.update((h, u) for h in hubs for u in changed_urls)
    if not pending:
        if path.exists():
            _save(path, pending)
        return PingReport(0, 0, 0)
    _save(path, pending)
    sent = failed = 0
    dead_hubs: set[str] = set()
    for hub, url in sorted(pending):
        if hub in dead_hubs:
            failed += 1  # the hub is down: don't wait for a timeout per feed
            continue
        try:
            status = client.post_form(hub, {"hub.mode": "publish", "hub.url": url})
        except Exception as exc:  # a ping must never break a build
            log.warning("websub: %s unreachable (%s); will retry on the next build", hub, exc)
            dead_hubs.add(hub)
            failed += 1
            continue
        if 200 <= status < 300:
            pending.discard((hub, url))
            sent += 1
        else:
            log.warning("websub: %s answered %d for %s; will retry", hub, status, url)
            failed += 1
    _save(path, pending)
    return PingReport(sent=sent, failed=failed, pending=len(pending))
