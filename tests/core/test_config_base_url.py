"""public_base_url, unset, follows where the web server listens; set, it is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.core.config import load_settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8080"),
        ({"PUBLISHER_WEB_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"PUBLISHER_WEB_HOST": "0.0.0.0", "PUBLISHER_WEB_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"PUBLISHER_WEB_HOST": "::1", "PUBLISHER_WEB_PORT": "9000"}, "http://[::1]:9000"),
        ({"PUBLISHER_WEB_HOST": "10.0.0.5"}, "http://10.0.0.5:8080"),
        ({"PUBLISHER_WEB_PORT": "0"}, "http://127.0.0.1:8080"),  # chosen at bind: unknown
        (
            {"PUBLISHER_WEB_PORT": "9000", "PUBLISHER_PUBLIC_BASE_URL": "https://x.kr/news"},
            "https://x.kr/news",
        ),
    ],
)
def test_public_base_url_follows_web_port_unless_set(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_settings().public_base_url == expected


def test_public_base_url_from_the_toml_file_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "publisher.toml"
    toml.write_text('public_base_url = "https://news.example.kr/n"\nweb_port = 9001\n', "utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(toml))
    assert load_settings().public_base_url == "https://news.example.kr/n"
    toml.write_text("web_port = 9001\n", "utf-8")
    assert load_settings().public_base_url == "http://127.0.0.1:9001"
