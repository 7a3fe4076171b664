"""`publisher run` as a subprocess: the collect → feeds chain, and SIGTERM during a drain."""

from __future__ import annotations

import json
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.daemonkit import ROOT, Daemon, cli, daemon_env, queue_digest, wait_for
from tests.pgserver import free_port
from tests.smtpserver import Behaviour, ThreadedServer

pytestmark = pytest.mark.slow

# Nothing fires by itself during these tests except what each one names.
SCHEDULES = """\
timezone: Asia/Seoul
digests:
  - {{id: morning, name: "아침", {timing}, first_window: 7d, settle_minutes: 0, stale_after: 1h}}
jobs:
  collect: {{every: {collect}}}
  feeds: {{cron: "0 0 1 1 *"}}
  deliver: {{cron: "0 0 1 1 *"}}
  cleanup: {{cron: "30 3 * * *"}}
"""


def _article(external_id: str) -> dict[str, object]:
    with (ROOT / "samples" / "articles.jsonl").open(encoding="utf-8") as src:
        first: dict[str, object] = json.loads(src.readline())
    published = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")
    return first | {
        "id": external_id,
        "url": f"https://news.example.kr/articles/{external_id}",
        "title": f"수집 경로 시험 기사 {external_id}",
        "published_at": published,
    }


def test_a_dropped_file_reaches_the_feeds_after_collect_not_after_the_feed_interval(
    tmp_path: Path,
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (tmp_path / "schedules.yaml").write_text(
        SCHEDULES.format(timing='cron: "0 7 * * *"', collect="1s"), "utf-8"
    )
    env = daemon_env(
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        smtp_url=f"maildir://{tmp_path / 'mail'}",
        schedules_file=str(tmp_path / "schedules.yaml"),
        feeds_dir=str(tmp_path / "feeds"),
        web_port=str(free_port()),
        sources=json.dumps([{"kind": "folder", "name": "cms", "path": str(drop),
                             "settle_seconds": 0}]),
    )  # fmt: skip
    cli(env, "init", cwd=tmp_path)
    d = Daemon(env, cwd=tmp_path, log=tmp_path / "run.log")
    try:
        rss = tmp_path / "feeds" / "rss.xml"
        # The start-up catch-up builds the feeds once; the next feed tick is an hour away.
        wait_for(lambda: "job feeds:" in d.log(), seconds=30, what="first feed build", alive=[d])
        assert "20991231-0001" not in rss.read_text("utf-8")
        staged = tmp_path / "staged.jsonl"
        staged.write_text(json.dumps(_article("20991231-0001")) + "\n", "utf-8")
        staged.rename(drop / "article.jsonl")  # appears whole, as a CMS should write it
        took = wait_for(
            lambda: "20991231-0001" in rss.read_text("utf-8"),
            seconds=20, what="the dropped article in feeds/rss.xml", alive=[d],
        )  # fmt: skip
        assert took < 10, "within a few collect intervals, not a feed interval (1 h)"
        assert (drop / "done" / "article.jsonl").exists()
        # The start-up build, then the chained one (its log line follows the file it wrote).
        wait_for(lambda: d.log().count("job feeds:") >= 2, seconds=10, what="the chained build")
        assert d.log().count("job feeds:") == 2
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(30) == 0, d.log()
    finally:
        d.close()


def _statuses(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


def test_sigterm_during_a_drain_exits_0_and_loses_nothing(tmp_path: Path) -> None:
    total = 60
    subscribers = tmp_path / "subscribers.csv"
    subscribers.write_text(
        "email,name,sections,frequency,status\n"
        + "".join(f"reader{i}@example.kr,독자{i},,daily,confirmed\n" for i in range(total)),
        "utf-8",
    )
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps(_article("20991231-0002")) + "\n", "utf-8")
    (tmp_path / "schedules.yaml").write_text(
        SCHEDULES.format(timing="every: 1h", collect="1h"), "utf-8"
    )
    db = tmp_path / "p.db"
    # A slow relay: each message takes 0.5 s to be accepted, so SIGTERM lands mid-drain.
    with ThreadedServer(Behaviour(final_delay=0.5)) as sink:
        env = daemon_env(
            database_url=f"sqlite:///{db}", smtp_url=sink.url,
            schedules_file=str(tmp_path / "schedules.yaml"), feeds_dir=str(tmp_path / "feeds"),
            web_port=str(free_port()), smtp_pool_size="2", shutdown_grace="10s",
            postal_address="서울특별시 중구 세종대로 1",
        )  # fmt: skip
        out = queue_digest(env, db=db, articles=articles, subscribers=subscribers,
                           digest="morning", cwd=tmp_path)  # fmt: skip
        assert _statuses(db) == {"queued": total}, out
        d = Daemon(env, cwd=tmp_path, log=tmp_path / "run.log")
        try:
            wait_for(
                lambda: len(sink.server.record.messages) >= 4,
                seconds=30, what="the drain under way", alive=[d],
            )  # fmt: skip
            d.proc.send_signal(signal.SIGTERM)
            assert d.proc.wait(30) == 0, d.log()
        finally:
            d.close()
        received = sink.server.record.recipients()
    left = _statuses(db)
    assert "sending" not in left, left
    assert set(left) <= {"sent", "queued"}, left
    assert sum(left.values()) == total, "no row lost"
    assert 0 < left.get("sent", 0) < total, "SIGTERM landed mid-drain"
    # Every row marked sent really reached the relay, once.
    assert left.get("sent", 0) <= len(received)
    assert set(received.values()) == {1}
