"""`publisher demo` (what `make demo` runs) sets up a working store and is safe to repeat."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.web.app import create_app
from tests.pgserver import free_port

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def test_demo_loads_samples_builds_feeds_and_repeats_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--no-run"])
    assert first.exit_code == 0, first.output
    assert "articles: added 40" in first.output
    assert "1. " in first.output  # the most-viewed box is not empty
    assert (tmp_path / "var" / "publisher.db").exists()
    assert (tmp_path / "feeds" / "rss.xml").exists()
    second = runner.invoke(app, ["demo", "--no-run"])
    assert second.exit_code == 0, second.output
    assert "unchanged 40" in second.output
    assert "views:" not in second.output  # counts are not added twice
    assert "0 changed" in second.output


def test_demo_feeds_have_most_viewed_items_and_images_the_demo_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_WEB_PORT", "9411")
    result = CliRunner().invoke(app, ["demo", "--no-run"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9411/feeds/index.html" in result.output
    # The sample views end now: the 24-hour most-viewed feed is full right away.
    popular = ET.parse(tmp_path / "feeds" / "popular" / "rss.xml").findall("./channel/item")
    assert len(popular) >= 5
    # Every sample article has an image a feed reader can fetch from the demo itself.
    enclosures = [e.attrib for e in ET.parse(tmp_path / "feeds" / "rss.xml").iter("enclosure")]
    assert len(enclosures) == 40
    assert all(e["url"].startswith("http://127.0.0.1:9411/demo/images/") for e in enclosures)
    first = enclosures[0]
    demo = Settings(demo=True, database_url=f"sqlite:///{tmp_path / 'var' / 'publisher.db'}")
    status, ctype, body = asyncio.run(_get(demo, first["url"]))
    assert (status, ctype) == (200, "image/png")
    assert body.startswith(PNG) and len(body) == int(first["length"]) and first["type"] == ctype


def test_demo_images_only_in_demo_mode_and_only_the_samples(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    real = Settings(database_url=db, secret_key="x" * 32)
    assert asyncio.run(_get(real, "/demo/images/politics.png"))[0] == 404
    demo = Settings(database_url=db, demo=True)
    for path in ("/demo/images/nope.png", "/demo/images/..%2Fmake.sh", "/demo/images/make.sh"):
        assert asyncio.run(_get(demo, path))[0] == 404, path


async def _get(settings: Settings, url: str) -> tuple[int, str, bytes]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        resp = await client.get(httpx.URL(url).raw_path.decode())
    return resp.status_code, resp.headers.get("content-type", ""), resp.content


@pytest.mark.slow
def test_printed_export_lines_point_other_commands_at_the_demo(tmp_path: Path) -> None:
    demo_dir, elsewhere = tmp_path / "demo", tmp_path / "elsewhere"
    demo_dir.mkdir()
    elsewhere.mkdir()
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    clean["PYTHONPATH"] = str(ROOT)
    setup = subprocess.run(
        [sys.executable, "-m", "publisher", "demo", "--no-run"], cwd=demo_dir,
        env=clean | {"PUBLISHER_WEB_PORT": str(port)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    exports = [ln.strip() for ln in setup.stdout.splitlines() if ln.strip().startswith("export ")]
    assert f"export PUBLISHER_WEB_PORT={port}" in exports
    assert (demo_dir / "var" / "demo.env").read_text("utf-8").splitlines() == exports
    # Pasted into a new shell in another folder, the lines make the CLI use the demo's
    # database, schedule and mail folder (not ./schedules.yaml, not ./var).
    cli = f"{shlex.quote(sys.executable)} -m publisher"
    script = "\n".join(
        [*exports, f"{cli} status", f"{cli} digest run demo", f"{cli} deliver --until-empty"]
    )
    done = subprocess.run(
        ["bash", "-euc", script], cwd=elsewhere, env=clean, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "digest:demo" in done.stdout and "every 2m" in done.stdout
    assert "recipients 3" in done.stdout and "sent 3" in done.stdout
    assert not (elsewhere / "var").exists()
    mails = sorted((demo_dir / "var" / "mail" / "new").iterdir())
    assert len(mails) == 3
    html = _html(mails[0].read_bytes())
    # Links and images follow the demo's port.
    assert f"http://127.0.0.1:{port}/u/" in html
    assert re.search(rf'<img src="http://127\.0\.0\.1:{port}/demo/images/\w+\.png"', html)
    assert ":8080" not in html


def _html(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("html",))
    assert part is not None and isinstance(part, EmailMessage)
    return str(part.get_content())
