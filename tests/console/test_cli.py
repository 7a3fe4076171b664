"""`publisher users …`, `publisher audit export` and the demo's admin, as a user types them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import load_settings
from publisher.web.app import create_app
from tests.console.consolekit import csrf_of, sign_in

LINK = re.compile(r"https?://\S+/admin/welcome/(\S+)")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "cli-test-secret-0123456789")
    monkeypatch.setenv("PUBLISHER_PUBLIC_BASE_URL", "https://news.example.kr")
    root = Path(__file__).parents[2]
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(root / "schedules.yaml"))
    monkeypatch.setenv("PUBLISHER_TEMPLATES_DIR", str(root / "templates"))
    return tmp_path


def test_users_add_prints_a_link_that_sets_a_password_once(env: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "Desk@Example.kr", "--role", "editor"])
    assert added.exit_code == 0, added.output
    assert "added Desk@example.kr (editor)" in added.output
    token = LINK.search(added.output)
    assert token
    listed = runner.invoke(app, ["users", "list"])
    assert "Desk@example.kr\teditor\t-\tinvited" in listed.output
    assert runner.invoke(app, ["users", "add", "x", "--role", "boss"]).exit_code == 2
    removed = runner.invoke(app, ["users", "remove", "desk@example.kr"])
    assert removed.exit_code == 0 and "removed" in removed.output
    assert runner.invoke(app, ["users", "remove", "desk@example.kr"]).exit_code == 1
    exported = runner.invoke(app, ["audit", "export"])
    entries = [json.loads(line) for line in exported.output.splitlines()]
    assert [e["action"] for e in entries] == ["user.invite", "user.remove"]
    assert all(e["actor"] == "cli" for e in entries)
    since = runner.invoke(app, ["audit", "export", "--since", "2999-01-01T00:00:00Z"])
    assert since.exit_code == 2  # year out of range is refused, not silently empty


@pytest.mark.asyncio
async def test_link_works_once_and_signs_in(env: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["users", "add", "boss@example.kr", "--role", "admin"]).output
    found = LINK.search(out)
    assert found
    web = create_app(load_settings())
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="https://news.example.kr") as c:
        page = await c.get(f"/admin/welcome/{found.group(1)}")
        assert page.status_code == 200 and "boss@example.kr" in page.text
        short = await c.post(f"/admin/welcome/{found.group(1)}",
                             data={"csrf": csrf_of(page.text), "password": "short"})  # fmt: skip
        assert short.status_code == 400
        done = await c.post(
            f"/admin/welcome/{found.group(1)}",
            data={"csrf": csrf_of(page.text), "password": "a long enough one"},
        )
        assert done.status_code == 303
        assert (await c.get("/admin/")).status_code == 200
        again = await c.get(f"/admin/welcome/{found.group(1)}")
        assert again.status_code == 410
    await web.state.web.close()


@pytest.mark.asyncio
async def test_demo_prints_the_console_and_its_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_TEMPLATES_DIR", str(Path(__file__).parents[2] / "templates"))
    result = CliRunner().invoke(app, ["demo", "--no-run"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "/admin/" in x)
    found = re.search(r"sign in as (\S+), password (\S+)\)", line)
    assert found and found.group(1) == "admin@example.kr"
    web = create_app(load_settings())  # the demo's settings, which it put in the environment
    base = web.state.settings.public_base_url
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=base) as c:
        r = await sign_in(c, found.group(1), found.group(2))
        assert r.status_code == 303
        assert (await c.get("/admin/users")).status_code == 200
    await web.state.web.close()
