"""The text form of a run's click report (`publisher digest report RUN`)."""

from __future__ import annotations

from publisher.analytics.report import RunReport


def report_lines(r: RunReport) -> list[str]:
    d = r.delivery
    lines = [
        f"run {r.run_id} of {r.digest_id} ({r.created_at:%Y-%m-%d %H:%M} UTC): {r.subject}",
        f"delivery\trecipients {d.recipients}\tdelivered {d.delivered}\tpending {d.pending}\t"
        f"failed {d.failed}\tbounces {d.bounces}\tcomplaints {d.complaints}",
        f"clicks\thuman {r.human}\tmachine {r.machine}\t"
        f"unique (estimate) {r.unique_clicks_estimate} ({r.unique_click_rate:.1%} of delivered)",
    ]
    if r.machine_by_reason:
        why = "\t".join(f"{k} {v}" for k, v in sorted(r.machine_by_reason.items()))
        lines.append(f"machine\t{why}")
    if r.opens is not None:
        lines.append(f"opens\t{r.opens.count} (+{r.opens.machine} machine)\t{r.opens.caveat}")
    lines.append("")
    lines.append("article\tsection\tpositions\thuman\tmachine\ttitle")
    for a in r.articles:
        where = ",".join(str(p) for p in a.positions)
        lines.append(
            f"{a.external_id}\t{a.section or '-'}\t{where}\t{a.human}\t{a.machine}\t{a.title}"
        )
    lines.append("")
    lines.append("position\thuman\tmachine\trate")
    lines += [f"{p.key}\t{p.human}\t{p.machine}\t{p.rate:.2%}" for p in r.positions]
    lines.append("")
    lines.append("section\thuman\tmachine\trate")
    lines += [f"{s.key}\t{s.human}\t{s.machine}\t{s.rate:.2%}" for s in r.sections]
    lines += [f"note: {n}" for n in r.notes]
    return lines
