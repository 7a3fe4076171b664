"""Duration settings are timedelta fields: written "24h" in the file or environment, checked
when the settings load (not when a job first reads them)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.core.config import ConfigError, load_settings


def test_written_as_text_read_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_BACKOFF_MIN", "90s")
    monkeypatch.setenv("PUBLISHER_POPULAR_WINDOW", " 7d ")
    s = load_settings()
    assert s.backoff_min == timedelta(seconds=90)
    assert s.popular_window == timedelta(days=7)
    # The defaults the README shows ("24h", "15m", …) are the same timedeltas.
    assert (s.expiry_digest, s.lease_duration) == (timedelta(hours=24), timedelta(minutes=15))


@pytest.mark.parametrize("value", ["0s", "5x", "PT1H"])
def test_a_bad_duration_stops_loading(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PUBLISHER_SHUTDOWN_GRACE", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "shutdown_grace" in str(caught.value)
