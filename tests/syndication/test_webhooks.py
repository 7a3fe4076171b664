"""Signed webhooks against a real loopback receiver that verifies each signature with the
standardwebhooks package's own Webhook.verify: delivery, retries with backoff and the same
webhook-id, the disable after a failure streak, status and enable (CLI)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from standardwebhooks import Webhook
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.core.httpclient import HttpClient
from publisher.core.syndicationsettings import WebhookEndpoint
from publisher.intake.articles import set_status, write_articles
from publisher.store.syndicationschema import events
from publisher.syndication import webhooks
from tests.feedsample import sample_articles
from tests.syndication.receiver import Receiver, receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def now() -> datetime:
    """Real time, taken when the test starts: the receiver checks timestamps against its
    own clock (five minutes' tolerance), so a module-level time goes stale in a long run."""
    return datetime.now(UTC).replace(microsecond=0)


def _settings(settings: Settings, url: str, **extra: object) -> Settings:
    endpoint = WebhookEndpoint(name="partner", url=url, secret=SECRET, events=["*"])
    return settings.model_copy(update={"webhooks": [endpoint], **extra})


def _verified(r: Receiver) -> list[dict[str, object]]:
    """Every request's payload, each verified (raises on a bad signature or old timestamp)."""
    wh = Webhook(SECRET)
    return [wh.verify(req.body, req.headers) for req in r.requests]


def _run(s: Settings, engine: Engine, at: datetime) -> webhooks.WebhookReport:
    with HttpClient(timeout=5) as http:
        return webhooks.deliver_webhooks(s, engine, http, now=at)


def test_events_are_signed_and_delivered_once(
    now: datetime, settings: Settings, engine: Engine, hook: Receiver
) -> None:
    s = _settings(settings, hook.url)
    write_articles(engine, sample_articles()[:2], now=now)
    set_status(engine, sample_articles()[0].external_id, "retracted", now=now)
    report = _run(s, engine, now)
    assert (report.queued, report.delivered, report.failed) == (3, 3, 0)
    payloads = _verified(hook)
    assert [p["type"] for p in payloads] == [
        "article.published", "article.published", "article.retracted",
    ]  # fmt: skip
    data = payloads[2]["data"]
    assert isinstance(data, dict) and data["id"] == sample_articles()[0].external_id
    with engine.connect() as conn:
        ids = list(conn.execute(select(events.c.event_id).order_by(events.c.id)).scalars())
    assert [r.headers["webhook-id"] for r in hook.requests] == ids
    assert all(i.startswith("evt_") for i in ids) and len(set(ids)) == 3
    assert _run(s, engine, now + timedelta(seconds=1)).delivered == 0  # nothing twice
    assert len(hook.requests) == 3
    state = webhooks.status(s, engine)[0]
    assert (state.pending, state.delivered, state.disabled_at) == (0, 3, None)


def test_an_endpoint_gets_only_the_events_it_asked_for(
    now: datetime, settings: Settings, engine: Engine, hook: Receiver
) -> None:
    endpoint = WebhookEndpoint(name="n", url=hook.url, secret=SECRET, events=["article.retracted"])
    s = settings.model_copy(update={"webhooks": [endpoint]})
    write_articles(engine, sample_articles()[:2], now=now)
    set_status(engine, sample_articles()[1].external_id, "retracted", now=now)
    _run(s, engine, now)
    assert [p["type"] for p in _verified(hook)] == ["article.retracted"]


def test_a_500_is_retried_with_backoff_and_the_same_webhook_id(
    now: datetime, settings: Settings, engine: Engine, hook: Receiver
) -> None:
    s = _settings(settings, hook.url)
    hook.statuses = [500]
    write_articles(engine, sample_articles()[:1], now=now)
    first = _run(s, engine, now)
    assert (first.delivered, first.failed) == (0, 1)
    assert webhooks.status(s, engine)[0].failing_since == now
    assert _run(s, engine, now + timedelta(seconds=29)).delivered == 0  # backoff: 30 s
    assert len(hook.requests) == 1
    again = _run(s, engine, now + timedelta(seconds=31))
    assert again.delivered == 1 and len(hook.requests) == 2
    _verified(hook)  # both attempts signed correctly, each with its own timestamp
    one, two = hook.requests
    assert one.headers["webhook-id"] == two.headers["webhook-id"]
    assert one.headers["webhook-timestamp"] != two.headers["webhook-timestamp"]
    assert one.body == two.body
    state = webhooks.status(s, engine)[0]
    assert (state.pending, state.delivered, state.failures, state.failing_since) == (0, 1, 0, None)


def test_backoff_doubles_up_to_six_hours() -> None:
    waits = [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4, 20)]
    assert waits == [30, 60, 120, 240, 6 * 3600]


def test_a_long_failure_streak_disables_the_endpoint(
    now: datetime, settings: Settings, engine: Engine, hook: Receiver,
    caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    s = _settings(settings, hook.url, webhook_disable_after=3)
    hook.statuses = [500, 503, 502]
    write_articles(engine, sample_articles()[:1], now=now)
    with caplog.at_level(logging.WARNING, logger="publisher.syndication.webhooks"):
        for offset in (0, 30, 90):  # each attempt as soon as its backoff allows
            _run(s, engine, now + timedelta(seconds=offset))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "webhook partner disabled" in errors[0].getMessage()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split("(")[1].split(" failed")[0] for w in warnings] == ["1", "2", "3"]
    assert _run(s, engine, now + timedelta(seconds=240)).delivered == 0
    assert len(hook.requests) == 3  # disabled: nothing more is sent
    write_articles(engine, sample_articles()[1:2], now=now)  # events still queue meanwhile

    env = _cli_env(s, monkeypatch)
    shown = CliRunner().invoke(app, ["webhooks", "status", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    row = json.loads(shown.stdout)[0]
    assert row["name"] == "partner" and row["disabled_at"] and row["failures"] == 3
    assert row["failing_since"] and "HTTP 502" in row["last_error"]
    table = CliRunner().invoke(app, ["webhooks", "status"], env={**env, "COLUMNS": "200"})
    assert "partner" in table.output and "HTTP 502" in table.output
    assert "failed in a row" in table.output and " 3 " in table.output
    unknown = CliRunner().invoke(app, ["webhooks", "enable", "nope"], env=env)
    assert unknown.exit_code == 2 and "no endpoint named 'nope'" in unknown.output
    enabled = CliRunner().invoke(app, ["webhooks", "enable", "partner"], env=env)
    assert enabled.exit_code == 0, enabled.output

    report = _run(s, engine, now + timedelta(seconds=241))
    assert report.delivered == 2 and len(hook.requests) == 5
    assert hook.requests[3].headers["webhook-id"] == hook.requests[0].headers["webhook-id"]
    _verified(hook)


def _cli_env(s: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    hooks = [w.model_dump() for w in s.webhooks]
    return {
        "PUBLISHER_DATABASE_URL": s.database_url,
        "PUBLISHER_FEEDS_DIR": str(s.feeds_dir),
        "PUBLISHER_WEBHOOKS": json.dumps(hooks),
    }


def test_bad_endpoint_settings_are_named() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        WebhookEndpoint(name="x", url="https://a.example/", secret="plain")
    with pytest.raises(ValueError, match="not an event"):
        WebhookEndpoint(name="x", url="https://a.example/", secret=SECRET, events=["nope"])


def test_a_bad_endpoint_in_the_environment_is_named(tmp_path: Path) -> None:
    env = {
        "PUBLISHER_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "PUBLISHER_WEBHOOKS": json.dumps([{"name": "p", "url": "ftp://x", "secret": "nope"}]),
    }
    result = CliRunner().invoke(app, ["webhooks", "status"], env=env)
    assert result.exit_code == 2
    assert "webhooks" in result.output and "secret" in result.output
