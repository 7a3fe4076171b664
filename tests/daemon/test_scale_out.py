"""Scale-out: two `publisher run` processes on one PostgreSQL database and one SMTP relay.

One digest run happens, every subscriber gets exactly one message, and killing the instance
that fires the schedules hands the lock to the other.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.daemonkit import ROOT, Daemon, cli, daemon_env, wait_for
from tests.pgserver import PgServer, free_port, pg_bin
from tests.smtpserver import ThreadedServer

SUBSCRIBERS = 2000
LEADS = "this instance fires the schedules"
SCHEDULES = """\
timezone: Asia/Seoul
digests:
  - id: morning
    name: "아침 브리핑"
    every: 1h
    frequency: daily
    sections: all
    max_items: 10
    min_items: 1
    settle_minutes: 0
    first_window: 7d
    stale_after: 1h
jobs:
  collect: {cron: "0 0 1 1 *"}
  feeds: {cron: "0 0 1 1 *"}
  deliver: {every: 5s}
  cleanup: {cron: "30 3 * * *"}
"""

pytestmark = pytest.mark.slow


def _write_inputs(tmp: Path) -> tuple[Path, Path]:
    published = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    articles = tmp / "articles.jsonl"
    with (ROOT / "samples" / "articles.jsonl").open(encoding="utf-8") as src:
        lines = [json.loads(line) for _, line in zip(range(5), src, strict=False)]
    articles.write_text(
        "".join(json.dumps(a | {"published_at": published}) + "\n" for a in lines), "utf-8"
    )
    subscribers = tmp / "subscribers.csv"
    subscribers.write_text(
        "email,name,sections,frequency,status\n"
        + "".join(f"reader{i}@example.kr,독자{i},,daily,confirmed\n" for i in range(SUBSCRIBERS)),
        "utf-8",
    )
    return articles, subscribers


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)
        return list(cur.fetchall()) if cur.description else []


def test_two_daemons_one_digest_one_message_each_and_takeover(tmp_path: Path) -> None:
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql; .ci/run does)")
    pg = PgServer().start()
    daemons: list[Daemon] = []
    try:
        url = pg.new_database()
        (tmp_path / "schedules.yaml").write_text(SCHEDULES, "utf-8")
        with ThreadedServer() as sink:
            base = dict(
                database_url=url, smtp_url=sink.url,
                schedules_file=str(tmp_path / "schedules.yaml"),
                feeds_dir=str(tmp_path / "feeds"), delivery_rate="0", leader_poll_seconds="1",
                postal_address="서울특별시 중구 세종대로 1", shutdown_grace="5s",
            )  # fmt: skip
            env = daemon_env(**base)
            articles, subscribers = _write_inputs(tmp_path)
            cli(env, "init", cwd=tmp_path)
            cli(env, "articles", "import", str(articles), cwd=tmp_path)
            cli(env, "subscribers", "import", str(subscribers), cwd=tmp_path)
            # Registered before the window that is due now closed, as if imported an hour ago.
            _query(url, "UPDATE articles SET registered_at = now() - interval '2 hours'")
            for name in ("a", "b"):
                e = daemon_env(**base, web_port=str(free_port()))
                daemons.append(Daemon(e, cwd=tmp_path, log=tmp_path / f"{name}.log"))

            received = sink.server.record.recipients
            wait_for(
                lambda: sum(received().values()) >= SUBSCRIBERS,
                seconds=40, what="every subscriber's digest at the sink", alive=daemons,
            )  # fmt: skip
            wait_for(
                lambda: not _query(url, "SELECT 1 FROM outbox WHERE status <> 'sent'"),
                seconds=10, what="every row marked sent", alive=daemons,
            )  # fmt: skip
            runs = _query(url, "SELECT digest_id, status, recipient_count FROM digest_runs")
            assert runs == [("morning", "enqueued", SUBSCRIBERS)]
            counts = received()
            assert len(counts) == SUBSCRIBERS
            assert set(counts.values()) == {1}, "nobody gets the digest twice"

            leaders = [d for d in daemons if LEADS in d.log()]
            assert len(leaders) == 1, "exactly one instance fires the schedules"
            (leader,) = leaders
            (other,) = [d for d in daemons if d is not leader]
            os.kill(leader.pid, signal.SIGKILL)
            leader.proc.wait(10)
            took = wait_for(
                lambda: LEADS in other.log(), seconds=15, what="takeover", alive=[other]
            )
            assert took < 10
            # The new leader catches up: it fires the digest once more, and the run key makes
            # that a no-op — still one run, nobody mailed twice.
            wait_for(lambda: "job digest:morning" in other.log(), seconds=15, what="catch-up")
            assert _query(url, "SELECT count(*) FROM digest_runs") == [(1,)]
            assert sum(received().values()) == SUBSCRIBERS
            other.proc.send_signal(signal.SIGTERM)
            assert other.proc.wait(30) == 0, other.log()
    finally:
        for d in daemons:
            d.close()
        pg.stop()
