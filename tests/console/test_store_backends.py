"""The console's queries on SQLite and PostgreSQL: prefix searches, the daily rollup,
operators and sessions, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from publisher.staff import accounts, audit, dashboard, lookups
from tests.console.consolekit import add_messages
from tests.digestkit import add_subscriber

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
SEOUL = ZoneInfo("Asia/Seoul")


def test_prefix_search_is_a_prefix_in_any_collation(any_engine: Engine) -> None:
    for email, name in (("Kim.A@x.org", "김가"), ("kim-b@x.org", "김나"), ("kimb@x.org", "Kimb"),
                        ("ki@x.org", "기"), ("akim@x.org", "이")):  # fmt: skip
        add_subscriber(any_engine, email, name=name)
    assert sorted(f.email for f in lookups.find(any_engine, "KIM")) == [
        "Kim.A@x.org", "kim-b@x.org", "kimb@x.org"
    ]  # fmt: skip
    assert [f.email for f in lookups.find(any_engine, "kim-")] == ["kim-b@x.org"]
    assert [f.email for f in lookups.find(any_engine, "kim.a@X.ORG")] == ["Kim.A@x.org"]
    assert sorted(f.name for f in lookups.find(any_engine, "김")) == ["김가", "김나"]
    assert lookups.find(any_engine, "   ") == []


def test_rollup_and_dashboard(any_engine: Engine) -> None:
    add_messages(any_engine, [("digest", "sent", NOW - timedelta(hours=1))] * 2
                 + [("confirm", "failed", NOW), ("digest", "deferred", NOW)])  # fmt: skip
    dashboard.rollup(any_engine, now=NOW, tz=SEOUL)
    board = dashboard.gather(any_engine, now=NOW, tz=SEOUL, days=2)
    assert board.days[-1].messages == {"digest:sent": 2, "confirm:failed": 1}
    assert board.waiting == {"deferred": 1} and board.oldest_waiting == NOW
    assert dashboard.last_rollup(any_engine) == NOW


def test_operators_sessions_and_audit(any_engine: Engine) -> None:
    inv = accounts.invite(any_engine, "Op@X.org", role="admin", now=NOW, valid=timedelta(hours=1))
    user = accounts.set_password(any_engine, inv.token, "a long password", now=NOW)
    cookie = accounts.start_session(any_engine, "secret", user, now=NOW)
    idle = timedelta(minutes=30)
    found = accounts.session_for(any_engine, "secret", cookie, now=NOW, idle=idle)
    assert found is not None and found.user.role == "admin"
    assert accounts.session_for(any_engine, "other", cookie, now=NOW, idle=idle) is None
    later = NOW + timedelta(minutes=31)
    assert accounts.session_for(any_engine, "secret", cookie, now=later, idle=idle) is None
    audit.record(any_engine, at=NOW, actor="op@x.org", action="x.y", target="t",
                 detail={"k": "값"}, ip="192.0.2.1")  # fmt: skip
    [line] = list(audit.export_lines(any_engine))
    assert '"k": "값"' in line and '"ip": "192.0.2.1"' in line
    assert accounts.remove(any_engine, "op@x.org")
