"""Polling the configured ``inbound_sources`` (the daemon's ``inbound`` job and
``publisher inbound poll``): each Maildir or IMAP mailbox in turn; one failing source is
logged and the others still run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from publisher.core.config import Settings
from publisher.core.errors import PublisherError
from publisher.core.inboundsettings import ImapInbound, MaildirInbound
from publisher.inbound import maildir
from publisher.inbound.effects import Rules
from publisher.inbound.maildir import Tally
from publisher.inbound.process import OnOutcome
from publisher.store.types import Engine

log = logging.getLogger("publisher.inbound")


class InboundSourcesFailed(PublisherError):
    """A mailbox could not be read in a pass (the others were): the inbound job failed, so
    its failure shows in the job's metric and in `publisher status`, not only in the log."""


@dataclass
class PollReport:
    tallies: dict[str, Tally] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{name}: {t.processed} processed, {t.kept} unmatched"
                 for name, t in self.tallies.items()]  # fmt: skip
        parts += [f"{name}: failed ({why})" for name, why in self.failed.items()]
        return "; ".join(parts) or "no inbound sources configured"


def poll(
    settings: Settings, engine: Engine, *, now: datetime, on_outcome: OnOutcome | None = None
) -> PollReport:
    rules = Rules.of(settings)
    report = PollReport()
    for source in settings.inbound_sources:
        try:
            report.tallies[source.name] = _poll_one(
                source, settings, engine, rules, now=now, on_outcome=on_outcome
            )
        except Exception as exc:  # one broken mailbox must not stop the others
            report.failed[source.name] = f"{type(exc).__name__}: {exc}"[:300]
            log.error("inbound source %s failed: %s", source.name, report.failed[source.name])
    return report


def _poll_one(
    source: MaildirInbound | ImapInbound, settings: Settings, engine: Engine, rules: Rules, *,
    now: datetime, on_outcome: OnOutcome | None,
) -> Tally:  # fmt: skip
    limit = settings.inbound_max_bytes
    if isinstance(source, MaildirInbound):
        return maildir.drain(
            source.path, engine, rules, source=f"maildir:{source.name}", now=now, limit=limit,
            unmatched_name=source.unmatched_folder, on_outcome=on_outcome,
        )  # fmt: skip
    from publisher.inbound import imap

    return imap.poll(source, engine, rules, now=now, limit=limit, on_outcome=on_outcome)
