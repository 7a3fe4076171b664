"""The shipped example configuration is valid as it stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_example_publisher_toml_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_CONFIG", str(ROOT / "contrib" / "publisher.toml"))
    s = load_settings()
    assert s.database_url.startswith("postgresql://")
    assert s.problems() == []


def test_systemd_unit_has_restart_and_hardening() -> None:
    unit = (ROOT / "contrib" / "systemd" / "publisher.service").read_text()
    for line in ("Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ExecReload=/bin/kill -HUP $MAINPID"):  # fmt: skip
        assert line in unit
