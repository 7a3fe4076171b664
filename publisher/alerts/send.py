"""Breaking-news alerts: the use cases the CLI, the API, the console and the daemon call.

An alert is one article, rendered and inlined once, stored once and queued through the same
outbox as every message, with its own kind (``alert``) and expiry (``alert_expiry``): an
alert that cannot go out in time is dropped, never sent late. It goes to confirmed readers who
opted in to alerts (``subscribers.alerts``). At most ``alerts_per_day`` a calendar day in the
site timezone, and never twice for one article: both held by unique indexes (store/alerts.py),
so two editors pressing "send" at once still send one alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from publisher.analytics.links import alert_run
from publisher.analytics.tracking import Tracking
from publisher.consent import advertising as ads
from publisher.consent.reconfirm import without_lapsed
from publisher.core.config import Settings
from publisher.core.errors import PublisherError
from publisher.core.models import Article
from publisher.messages import bulk, enqueue, fanout, mime
from publisher.render.templates import Links, RenderedEmail, with_subject
from publisher.store import alerts as store_alerts
from publisher.store import articles as store_articles
from publisher.store import clicks as store_clicks
from publisher.store import digest_runs
from publisher.store.alerts import AlertRow
from publisher.store.subscribers import Recipient
from publisher.store.types import Connection, Engine

log = logging.getLogger("publisher.alerts")
LIST_ID = "alerts"  # List-Id: <alerts.DOMAIN>, so readers' filters can tell alerts apart
AUTO = "intake"  # who asked, for an article an intake marked breaking

__all__ = ["AlertRow", "AlreadySent", "NoSuchArticle", "NotSendable", "OverCap"]


class NoSuchArticle(PublisherError):
    """No article has this id (404)."""


class NotSendable(PublisherError):
    """The article exists but cannot be alerted: retracted (409)."""


class AlreadySent(PublisherError):
    """This article already had its alert: never twice (409)."""


class OverCap(PublisherError):
    """alerts_per_day alerts went out today already (429)."""


@dataclass(frozen=True, slots=True)
class AlertPreview:
    article: Article
    rendered: RenderedEmail
    eml: bytes  # as a reader would receive it (the sender's address standing in)
    recipients: int  # readers it would go to now
    sent_today: int
    per_day: int


@dataclass(frozen=True, slots=True)
class AlertSent:
    alert_id: int
    article_id: str
    subject: str
    recipients: int
    enqueued: int
    slot: int  # 1..alerts_per_day of the day


def local_day(settings: Settings, now: datetime) -> str:
    return now.astimezone(settings.tz).strftime("%Y-%m-%d")


def _article(conn: Connection, article_id: str) -> Article:
    found = store_articles.get_article(conn, article_id)
    if found is None:
        raise NoSuchArticle(f"no article {article_id!r}")
    if found.status != "published":
        raise NotSendable(f"article {article_id!r} is {found.status}: it cannot be alerted")
    return found


def _rules(settings: Settings) -> ads.Rules | None:
    """The advertising rules when the site says its alerts are advertising (issue 18)."""
    return ads.Rules.from_settings(settings) if settings.alerts_advertising else None


def _compose(
    settings: Settings, identity: fanout.Identity, article: Article, now: datetime,
    tracking: Tracking | None = None,
) -> tuple[RenderedEmail, bytes]:  # fmt: skip
    """Render, inline and compose once: the per-reader links stay placeholders. With
    ``tracking`` (a sent alert, not a preview or a test copy) the article link is tracked."""
    links = Links(view_in_browser=article.url, **fanout.personal_links())
    track = tracking.render_args(1) if tracking is not None else {}
    rendered = fanout.renderer_for(settings).alert(article=article, links=links, **track)
    rules = _rules(settings)
    if rules is not None:  # "(광고)", the sender and the 수신거부 notice
        rendered = rules.apply(rendered, mime.UNSUBSCRIBE_URL)
    body = mime.compose(
        rendered=rendered, sender=identity.sender, date=now,
        list_info=identity.list_info(settings.site_name, LIST_ID),
    )  # fmt: skip
    return rendered, body


def preview(engine: Engine, settings: Settings, article_id: str, *, now: datetime) -> AlertPreview:
    """The alert email as it would go out now, and to how many readers; sends nothing."""
    identity = fanout.Identity.from_settings(settings)
    with engine.connect() as conn:
        article = _article(conn, article_id)
        people = len(_recipients(conn, settings))
        today = store_alerts.sent_on(conn, local_day(settings, now))
    rendered, body = _compose(settings, identity, article, now)
    subs = identity.substitutions(subscriber_id=0, name="", email=identity.sender.address, now=now)
    eml = enqueue.fill(body, subs, f"<alert-preview@{identity.message_id_domain}>")
    return AlertPreview(article, rendered, eml, people, today, settings.alerts_per_day)


def send(
    engine: Engine, settings: Settings, article_id: str, *, by: str, now: datetime
) -> AlertSent:
    """Send the article's alert now (NoSuchArticle, NotSendable, AlreadySent, OverCap), in
    one transaction: the slot, the stored message and one outbox row per reader."""
    identity = fanout.Identity.from_settings(settings)
    day = local_day(settings, now)
    with engine.begin() as conn:
        article = _article(conn, article_id)
        store_alerts.forget_over_cap(conn, article_id)  # an editor overrides the job's refusal
        outcome, alert_id, slot = store_alerts.claim(
            conn, article_id=article_id, title=article.title, local_day=day,
            cap=settings.alerts_per_day, requested_by=" ".join(by.split())[:200], now=now,
        )  # fmt: skip
        if outcome == "duplicate":
            raise AlreadySent(f"article {article_id!r} already had its alert")
        if outcome == "full" and settings.alerts_per_day == 0:
            raise OverCap("alerts_per_day is 0: breaking-news alerts are turned off")
        if outcome == "full" or alert_id is None:
            raise OverCap(
                f"{settings.alerts_per_day} alerts went out on {day} already "
                "(alerts_per_day): none more today"
            )
        tracking = Tracking.start(conn, settings, identity.secret, run_id=alert_run(alert_id),
                                  now=now)  # fmt: skip
        rendered, body = _compose(settings, identity, article, now, tracking)
        people = _recipients(conn, settings)
        prefix = f"alert:{alert_id}:"
        rules = _rules(settings)
        enqueued = fanout.store_and_enqueue(
            conn, identity, body=body, content_key=prefix, recipients=people,
            dedupe_prefix=prefix, kind="alert", now=now,
            not_before=rules.hold_until(now) if rules is not None else None,
            extra=tracking.extra,
        )  # fmt: skip
        store_alerts.finish(conn, alert_id, subject=rendered.subject, recipient_count=len(people))
    bulk.after_bulk(engine, enqueued)
    log.info("alert %d: article %s to %d readers (%s)", alert_id, article_id, enqueued, by)
    return AlertSent(alert_id, article_id, rendered.subject, len(people), enqueued, slot)


def _recipients(conn: Connection, settings: Settings) -> list[Recipient]:
    """Readers who opted in to alerts; for advertising alerts, not those whose advertising
    consent lapsed."""
    people = store_alerts.recipients(conn)
    return without_lapsed(conn, people) if settings.alerts_advertising else people


def send_test(
    engine: Engine, settings: Settings, article_id: str, *, to: str, now: datetime
) -> int:
    """One "[TEST]" copy of the article's alert to ``to`` (outbox kind ``test``): an editor's
    look at it in a real mailbox. Not an alert: it takes no slot and does not count as the
    article's one alert. ``to`` must already be a normalised address."""
    identity = fanout.Identity.from_settings(settings)
    with engine.connect() as conn:
        article = _article(conn, article_id)
    rendered, _ = _compose(settings, identity, article, now)
    rendered = with_subject(rendered, f"[TEST] {rendered.subject}")
    body = mime.compose(
        rendered=rendered, sender=identity.sender, date=now,
        list_info=identity.list_info(settings.site_name, LIST_ID),
    )  # fmt: skip
    key = f"test:alert:{article_id}:{now.isoformat()}:{to}"
    recipient = Recipient(id=0, email=to, name="", sections=(), language=None)
    with engine.begin() as conn:
        return fanout.store_and_enqueue(
            conn, identity, body=body, content_key=key, recipients=[recipient],
            dedupe_prefix=f"{key}:", kind="test", now=now,
        )  # fmt: skip


def send_marked(engine: Engine, settings: Settings, *, now: datetime) -> list[AlertSent]:
    """The alert job: articles an intake marked ``breaking`` within ``alert_expiry`` and not
    alerted yet. One the cap refuses is recorded (``over_cap``) and not tried again."""
    with engine.connect() as conn:
        waiting = store_alerts.marked_breaking(conn, since=now - settings.alert_expiry)
    done: list[AlertSent] = []
    for article_id in waiting:
        try:
            done.append(send(engine, settings, article_id, by=AUTO, now=now))
        except OverCap as exc:
            log.warning("alert for article %s not sent: %s", article_id, exc)
            with engine.begin() as conn:
                store_alerts.record_over_cap(
                    conn, article_id=article_id, title="", local_day=local_day(settings, now),
                    requested_by=AUTO, now=now,
                )  # fmt: skip
        except (AlreadySent, NotSendable, NoSuchArticle) as exc:
            log.info("alert for article %s skipped: %s", article_id, exc)
    return done


def history(engine: Engine, *, limit: int = 50) -> list[AlertRow]:
    """Alerts, newest first: sent ones with their slot, refused ones as ``over_cap``."""
    with engine.connect() as conn:
        return store_alerts.history(conn, limit=limit)


def remaining_today(engine: Engine, settings: Settings, *, now: datetime) -> int:
    with engine.connect() as conn:
        sent = store_alerts.sent_on(conn, local_day(settings, now))
    return max(0, settings.alerts_per_day - sent)


def history_with_counts(
    engine: Engine, *, limit: int = 50
) -> list[tuple[AlertRow, dict[str, int], dict[str, int]]]:
    """Alerts, newest first, each with its outbox rows per status and its link clicks per
    kind (``human``, ``machine``; analytics counts them under ``alert_run(id)``)."""
    with engine.connect() as conn:
        rows = store_alerts.history(conn, limit=limit)
        clicks = store_clicks.clicks_per_run(conn, [alert_run(a.id) for a in rows])
        return [
            (a, digest_runs.outbox_counts(conn, f"alert:{a.id}:"),
             {"human": 0, "machine": 0} | clicks.get(alert_run(a.id), {}))
            for a in rows
        ]  # fmt: skip
