"""What came back from a run's readers: bounces and complaints counted against the digest
run their message belonged to (the inbound side records them), and the complaint rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from publisher.store import inbound as store_inbound
from publisher.store.digest_runs import RunRow
from publisher.store.types import Engine


@dataclass(frozen=True, slots=True)
class RunFeedback:
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0
    recipients: int = 0

    @property
    def complaint_rate(self) -> float:
        """Complaints per recipient of the run (0 for a run that mailed nobody)."""
        return self.complaints / self.recipients if self.recipients else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "hard_bounces": self.hard_bounces, "soft_bounces": self.soft_bounces,
            "complaints": self.complaints, "complaint_rate": round(self.complaint_rate, 6),
        }  # fmt: skip


def run_feedback(engine: Engine, runs: Sequence[RunRow]) -> dict[int, RunFeedback]:
    with engine.connect() as conn:
        counts = store_inbound.run_counts(conn, [r.id for r in runs])
    return {
        r.id: RunFeedback(
            hard_bounces=counts.get(r.id, {}).get("hard_bounce", 0),
            soft_bounces=counts.get(r.id, {}).get("soft_bounce", 0),
            complaints=counts.get(r.id, {}).get("complaint", 0),
            recipients=r.recipient_count,
        )
        for r in runs
    }
