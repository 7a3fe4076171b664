"""The README's configuration reference lists every setting, with its env var."""

from __future__ import annotations

from pathlib import Path

from publisher.core.config import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_with_its_env_var() -> None:
    text = README.read_text("utf-8")
    missing = [
        f"{ENV_PREFIX}{name.upper()}"
        for name in Settings.model_fields
        if f"`{ENV_PREFIX}{name.upper()}`" not in text or f"`{name}`" not in text
    ]
    assert not missing, f"README.md lacks these settings: {', '.join(missing)}"
