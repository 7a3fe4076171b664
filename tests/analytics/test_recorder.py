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


def test_the_address_cap_keeps_memory_bounded_and_ignores_the_user_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from publisher.analytics import counting
    from publisher.analytics.counting import Click, ClickRecorder
    from publisher.analytics.scanners import Scanners
    from publisher.store.db import make_engine

    monkeypatch.setattr(counting, "MAX_SEEN", 100)
    recorder = ClickRecorder(
        make_engine("sqlite://"), Scanners.load(), auto_flush=False, per_ip_hour=3
    )
    for n in range(1000):  # a flood of new addresses: the cap's tables stay bounded
        recorder.record(Click((1, 1, 1, 1), f"10.1.{n // 250}.{n % 250}", "Mozilla/5.0", at=NOW))
    assert len(recorder._caps) + len(recorder._caps_before) <= 200
    for n in range(10):  # one address, ten User-Agents: three people at most
        verdict = recorder.record(Click((1, 1, 2, 2), "192.0.2.1", f"Mozilla/5.0 ({n})", at=NOW))
        assert (verdict.kind, verdict.reason) == (
            ("human", None) if n < 3 else ("machine", "ip-cap")
        )
    assert recorder.stats.human == 1003
