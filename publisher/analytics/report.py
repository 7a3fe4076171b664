"""A digest run's click report: what was read, from which position and section, by people
(machines counted apart), and what happened to the mail (issue 16).

``run_report`` is the use case ``publisher digest report RUN`` and ``GET
/api/runs/{id}/report`` call (and the console, for its charts and trends).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from publisher.analytics import sketch
from publisher.core.errors import InputError
from publisher.store import clicks as store_clicks
from publisher.store import digest_runs
from publisher.store.types import Engine

MAX_ID = 2**63
OPENS_CAVEAT = (
    "unreliable: Apple Mail Privacy Protection (and some other mail services) loads every "
    "image of a message when it arrives, opened or not, and mail clients that block images "
    "load none, so the open pixel counts neither opens nor readers"
)


@dataclass(frozen=True, slots=True)
class ArticleClicks:
    article_id: int
    external_id: str
    title: str
    section: str | None
    section_name: str | None
    positions: list[int]
    human: int
    machine: int


@dataclass(frozen=True, slots=True)
class Rate:
    """Human clicks of one position or section, per message delivered; machines apart."""

    key: str
    human: int
    machine: int
    rate: float


@dataclass(frozen=True, slots=True)
class Delivery:
    recipients: int
    delivered: int  # outbox rows sent
    pending: int  # queued, sending or deferred
    failed: int
    suppressed: int
    expired: int
    bounces: int  # refused by the relay (failed) + recipients suppressed since as hard bounces
    complaints: int  # recipients suppressed since for a complaint


@dataclass(frozen=True, slots=True)
class Opens:
    count: int
    machine: int
    reliable: bool = False
    caveat: str = OPENS_CAVEAT


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: int
    digest_id: str
    subject: str
    created_at: datetime
    delivery: Delivery
    human: int
    machine: int
    machine_by_reason: dict[str, int]
    unique_clicks_estimate: int  # distinct clients with a human click (HyperLogLog, ±3 %)
    unique_click_rate: float  # … per message delivered
    articles: list[ArticleClicks]
    positions: list[Rate]
    sections: list[Rate]
    opens: Opens | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


def _delivery(engine: Engine, run: digest_runs.RunRow) -> Delivery:
    prefix = digest_runs.dedupe_prefix(run.digest_id, run.id)
    with engine.connect() as conn:
        c = digest_runs.outbox_counts(conn, prefix)
        suppressed = store_clicks.run_suppressions(conn, prefix, run.created_at)
    return Delivery(
        recipients=run.recipient_count, delivered=c.get("sent", 0),
        pending=sum(c.get(s, 0) for s in ("queued", "sending", "deferred")),
        failed=c.get("failed", 0), suppressed=c.get("suppressed", 0), expired=c.get("expired", 0),
        bounces=c.get("failed", 0) + suppressed.get("hard_bounce", 0),
        complaints=sum(n for reason, n in suppressed.items() if "complaint" in reason),
    )  # fmt: skip


def _rate(human: int, delivered: int) -> float:
    return round(human / delivered, 4) if delivered else 0.0


def _article(
    aid: int, human: int, machine: int, a: store_clicks.ArticleInfo | None, where: set[int]
) -> ArticleClicks:
    return ArticleClicks(
        article_id=aid,
        external_id=a.external_id if a else "",
        title=a.title if a else "",
        section=a.section if a else None,
        section_name=a.section_name if a else None,
        positions=sorted(where),
        human=human,
        machine=machine,
    )


def run_report(engine: Engine, run_id: int) -> RunReport:
    """The report of digest run ``run_id``; InputError("run", …) when there is no such run."""
    if not 0 < run_id < MAX_ID:  # a database integer, or no run at all
        raise InputError("run", f"no digest run {run_id}")
    with engine.connect() as conn:
        run = store_clicks.run_row(conn, run_id)
        if run is None:
            raise InputError("run", f"no digest run {run_id}")
        links = store_clicks.link_counts(conn, run_id)
        registers = store_clicks.sketch(conn, run_id)
        info = store_clicks.articles_info(conn, [x.article_id for x in links if x.article_id])
    delivery = _delivery(engine, run)
    sent = delivery.delivered
    per_article: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    positions: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    sections: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    where: dict[int, set[int]] = defaultdict(set)
    reasons: dict[str, int] = defaultdict(int)
    opens = [0, 0]
    for x in links:
        slot = 0 if x.kind == "human" else 1
        if x.kind != "human":
            reasons[x.reason] += x.count
        if x.position == 0:
            opens[slot] += x.count
            continue
        per_article[x.article_id][slot] += x.count
        positions[x.position][slot] += x.count
        a = info.get(x.article_id)
        sections[(a.section if a else None) or "-"][slot] += x.count
        where[x.article_id].add(x.position)
    articles = [
        _article(aid, h, m, info.get(aid), where[aid])
        for aid, (h, m) in sorted(per_article.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    unique = sketch.estimate(registers)
    notes = [] if sent else ["no message of this run has been delivered yet: rates are 0"]
    return RunReport(
        run_id=run.id, digest_id=run.digest_id, subject=run.subject, created_at=run.created_at,
        delivery=delivery, human=sum(h for h, _ in per_article.values()),
        machine=sum(m for _, m in per_article.values()), machine_by_reason=dict(reasons),
        unique_clicks_estimate=unique, unique_click_rate=_rate(unique, sent), articles=articles,
        positions=[Rate(str(p), h, m, _rate(h, sent)) for p, (h, m) in sorted(positions.items())],
        sections=[Rate(s, h, m, _rate(h, sent)) for s, (h, m) in sorted(sections.items())],
        opens=Opens(count=opens[0], machine=opens[1]) if any(opens) else None, notes=notes,
    )  # fmt: skip
