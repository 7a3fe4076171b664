"""Golden .eml files for a fixed clock and store. Regenerate: REGEN_GOLDEN=1 pytest this file."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from publisher.core.config import Settings
from tests.conftest import ROOT
from tests.emailkit import confirm_message, digest_messages, share_message

GOLDEN = ROOT / "tests" / "golden" / "email"
REGEN = os.environ.get("REGEN_GOLDEN") == "1"


def _fixed(settings: Settings) -> Settings:
    return settings.model_copy(update={"postal_address": "04524 서울특별시 중구 세종대로 1"})


def _check(name: str, got: bytes) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(got)
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with REGEN_GOLDEN=1")
    assert got == path.read_bytes(), f"{name} differs; inspect, then REGEN_GOLDEN=1"


def test_golden_digests(engine: Engine, settings: Settings) -> None:
    messages = digest_messages(engine, _fixed(settings))
    assert set(messages) == {"minsu.kim@example.kr", "reader@xn--xx3br43b.kr"}
    _check("digest-sections.eml", messages["minsu.kim@example.kr"])
    _check("digest-all.eml", messages["reader@xn--xx3br43b.kr"])


def test_golden_confirm_and_share(settings: Settings) -> None:
    _check("confirm.eml", confirm_message(_fixed(settings)))
    _check("share.eml", share_message(_fixed(settings)))


def test_golden_files_are_committed_shape() -> None:
    for path in GOLDEN.glob("*.eml"):
        data = path.read_bytes()
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
        assert all(len(line) <= 998 for line in data.split(b"\r\n"))
        assert b"%%" not in data, path.name  # every placeholder filled
