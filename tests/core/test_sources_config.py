"""Sources in settings: typed by kind, strict, named problems; JSON in the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from publisher.core.config import ConfigError, FeedSource, FolderSource, JsonSource, load_settings


def test_sources_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_SOURCES", json.dumps([
        {"kind": "folder", "name": "drop", "path": "/srv/cms/out", "settle_seconds": 30},
        {"kind": "feed", "name": "cms", "url": "https://cms.example.kr/rss", "section": "politics"},
        {"kind": "json", "name": "api", "url": "https://cms.example.kr/api/articles"},
    ]))  # fmt: skip
    sources = load_settings().sources
    assert sources == [
        FolderSource(kind="folder", name="drop", path=Path("/srv/cms/out"), settle_seconds=30),
        FeedSource(kind="feed", name="cms", url="https://cms.example.kr/rss", section="politics"),
        JsonSource(kind="json", name="api", url="https://cms.example.kr/api/articles"),
    ]
    assert sources[2].since_param == "since"  # type: ignore[union-attr]


def test_sources_from_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "publisher.toml"
    toml.write_text(
        '[[sources]]\nkind = "feed"\nname = "cms"\nurl = "https://cms.example.kr/rss"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PUBLISHER_CONFIG", str(toml))
    assert load_settings().sources == [
        FeedSource(kind="feed", name="cms", url="https://cms.example.kr/rss")
    ]


def test_bad_sources_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_SOURCES", json.dumps([
        {"kind": "folder", "name": "drop", "path": "x", "settle": 3},
        {"kind": "feed", "name": "cms", "url": "ftp://cms.example.kr/rss"},
        {"kind": "rss", "name": "x", "url": "https://x"},
        {"kind": "json", "name": "Bad Name", "url": "https://x"},
    ]))  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        load_settings()
    text = "\n".join(exc.value.problems)
    assert "PUBLISHER_SOURCES: sources[0].settle: unknown key" in text
    assert "sources[1].url" in text and "not an absolute http(s) URL" in text
    assert "sources[2]: Input tag 'rss'" in text
    assert "sources[3].name" in text


def test_source_names_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_SOURCES", json.dumps([
        {"kind": "feed", "name": "cms", "url": "https://a.example/rss"},
        {"kind": "json", "name": "cms", "url": "https://b.example/api"},
    ]))  # fmt: skip
    with pytest.raises(ConfigError, match=r"sources: .*\[1\]: duplicate source name 'cms'"):
        load_settings()
