"""/metrics output parses with prometheus-client's own parser and carries the outbox gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from publisher.core.metrics import Metrics

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_metrics_parse_and_report_depth_age_jobs_and_messages() -> None:
    m = Metrics(snapshot=lambda: ({"queued": 3, "sent": 10}, NOW - timedelta(minutes=5), NOW))
    m.job_ran("digest:morning", at=NOW, seconds=1.5, ok=True)
    m.message("sent", "digest", "reader@naver.com")
    m.message("sent", "digest", "other@NAVER.com")
    body, ctype = m.render()
    assert ctype.startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
    }
    assert samples[("publisher_outbox_messages", (("status", "queued"),))] == 3
    assert samples[("publisher_outbox_messages", (("status", "failed"),))] == 0
    assert samples[("publisher_outbox_oldest_queued_age_seconds", ())] == 300
    assert samples[("publisher_job_last_duration_seconds", (("job", "digest:morning"),))] == 1.5
    key = (
        "publisher_messages_total",
        (("domain", "naver.com"), ("kind", "digest"), ("outcome", "sent")),
    )
    assert samples[key] == 2
