"""ClickRecorder on its own: bounded memory under a flood of new clients."""

from __future__ import annotations

import pytest

from tests.digestkit import NOW


def test_a_flood_of_new_clients_keeps_memory_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from publisher.analytics import counting
    from publisher.analytics.counting import Click, ClickRecorder
    from publisher.analytics.scanners import Scanners
    from publisher.store.db import make_engine

    monkeypatch.setattr(counting, "MAX_SEEN", 100)
    recorder = ClickRecorder(make_engine("sqlite://"), Scanners.load(), auto_flush=False)
    for n in range(1000):
        recorder.record(Click((1, 1, 1, 1), f"10.0.{n // 250}.{n % 250}", "Mozilla/5.0", at=NOW))
    assert len(recorder._seen) + len(recorder._seen_before) <= 200
    assert recorder.stats.human == 1000
