"""An article dropped into the demo's inbox, copied from the samples, shows its image on the
demo's own port (the samples name :8080; the demo may run elsewhere)."""

from __future__ import annotations

import json
import mailbox
import os
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from publisher.app import App
from publisher.cli import app
from publisher.core.config import Settings, load_settings
from publisher.feeds.publish import run_feeds
from publisher.intake.demodata import SAMPLES, intake_adapter
from publisher.intake.polling import run_collect
from publisher.intake.records import Record


@pytest.fixture
def environ() -> Iterator[None]:
    """`publisher demo` exports its settings into os.environ: put it back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _sample(new_id: str) -> dict[str, object]:
    """The first sample article, as an editor would copy it, under a new id."""
    first = (SAMPLES / "articles.jsonl").read_text("utf-8").splitlines()[0]
    article: dict[str, Any] = json.loads(first)
    assert ":8080/demo/images/" in article["image_url"]  # what the samples say
    for key in ("image_type", "image_length"):
        article.pop(key, None)  # an editor may leave them out: the demo fills them in
    return article | {"id": new_id, "url": f"https://news.example.kr/articles/{new_id}"}


def test_article_dropped_into_the_inbox_gets_its_image_on_the_demos_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_WEB_PORT", "9413")
    setup = CliRunner().invoke(app, ["demo", "--no-run"])
    assert setup.exit_code == 0, setup.output
    dropped = _sample("20261130-0901")
    inbox = tmp_path / "var" / "inbox"
    (inbox / "new.jsonl").write_text(json.dumps(dropped, ensure_ascii=False) + "\n", "utf-8")
    settings = load_settings()  # the demo's settings, as the daemon it starts sees them
    demo = App(settings=settings)
    try:
        later = demo.clock.now() + timedelta(minutes=1)  # past the inbox's settle time
        report = run_collect(settings, demo.engine, now=later)
        assert [(s.status, s.added) for s in report.sources] == [("ok", 1)]
        run_feeds(settings, demo.engine, now=later)
    finally:
        demo.close()
    items = ET.parse(tmp_path / "feeds" / "rss.xml").findall("./channel/item")
    item = next(i for i in items if (i.findtext("link") or "").endswith("20261130-0901"))
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert enclosure.get("url") == "http://127.0.0.1:9413/demo/images/politics.png"
    assert enclosure.get("type") == "image/png"
    assert enclosure.get("length") == str((SAMPLES / "images" / "politics.png").stat().st_size)


def test_outside_demo_mode_collected_articles_are_taken_as_written() -> None:
    assert intake_adapter(Settings(secret_key="x" * 32)) is None
    adapt = intake_adapter(Settings(demo=True, web_port=9414))
    assert adapt is not None
    foreign = {"id": "a", "image_url": "https://cdn.example.kr/photos/1.png"}
    sample = {"id": "b", "image_url": "http://127.0.0.1:8080/demo/images/world.png"}
    out = [r.value for r in adapt([Record(1, foreign), Record(2, sample)])]
    assert out[0] == foreign
    assert out[1] is not None
    assert out[1]["image_url"] == "http://127.0.0.1:9414/demo/images/world.png"


def test_demo_hints_name_the_inbox_formats_and_a_digest_test_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: None
) -> None:
    """After the first digest later runs say too_few until new articles arrive: the demo says
    so, and the command it suggests for an immediate look mails a [TEST] copy."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    setup = runner.invoke(app, ["demo", "--no-run"])
    assert setup.exit_code == 0, setup.output
    out = " ".join(setup.output.split())
    assert "a JSON array (.json) or JSON Lines (.jsonl)" in out
    assert "(.json/.jsonl)" not in out
    assert "send only once new articles are dropped into var/inbox/" in out
    hint = next(ln for ln in setup.output.splitlines() if " digest test demo --to " in ln)
    words = shlex.split(hint)
    args = words[words.index("digest") :]
    assert args == ["digest", "test", "demo", "--to", "you@example.kr"]
    first = runner.invoke(app, ["digest", "run", "demo"])
    assert first.exit_code == 0 and "recipients 3" in first.output, first.output
    again = runner.invoke(app, ["digest", "run", "demo", "--now"])
    assert "too_few" in again.output  # what the hint explains
    sent = runner.invoke(app, args)
    assert sent.exit_code == 0, sent.output
    assert runner.invoke(app, ["deliver", "--until-empty"]).exit_code == 0
    box = mailbox.Maildir(tmp_path / "var" / "mail", create=False)
    mails = [message_from_bytes(box.get_bytes(k), policy=policy.default) for k in box.iterkeys()]
    tests = [m for m in mails if "[TEST]" in str(m["Subject"])]
    assert [str(m["To"]) for m in tests] == ["you@example.kr"]
