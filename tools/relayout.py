"""One-off (issue 13): rewrite imports written for the old flat layout to the packages.

For the merge of branches started before the layout change: files they add or change still say
``from publisher.deliver import …``. Run from the checkout root, then ruff --fix (import order),
mypy and the tests::

    python tools/relayout.py $(git ls-files 'publisher/*.py' 'tests/*.py' 'bench/*.py')

Idempotent: a path that already names a module of the new layout is left alone. Delete this
file once no branch from before the layout change is left.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "publisher"

MOVES = """
models core.models  clock core.clock  config core.config  schedules core.schedules
addresses core.addresses  tokens core.tokens  timeutil core.timeparse  logs core.logs
metrics core.metrics  httpclient core.httpclient
intake intake.validate  sanitise intake.sanitise  importers intake.records  ingest intake.batch
parallel intake.workers  hits intake.pagehits  viewcounts intake.pageviews
collect_job intake.polling  demodata intake.demodata  sources intake.sources
sources.base intake.sources.base  sources.entries intake.sources.entries
sources.feed intake.sources.feed  sources.folder intake.sources.folder
sources.jsonapi intake.sources.jsonapi
feedscopes feeds.scopes  feeditems feeds.items  feeds feeds.formats  feedjson feeds.jsonfeed
feedindex feeds.index  feedwriter feeds.writer  feedtext feeds.clean  websub feeds.websub
feedbuild feeds.build  feedjob feeds.publish
collect digests.selection  jobs digests.pipeline
render render.templates  strings render.translations  webstrings render.translations
textwidth render.textwidth  htmllines render.htmllines  linebudget render.linebudget
compose messages.mime  fanout messages.fanout  outbox messages.enqueue
deliver delivery.drain  ledger delivery.drainstore  personalise delivery.personalise
mailer delivery.mailer  smtpwire delivery.smtpwire  ratelimit delivery.ratelimit
dkimsign delivery.dkimsign  deferlog delivery.deferlog  leaseholder delivery.leaseholder
signup readers.signup  sharing readers.sharing  formcheck readers.formcheck
subscribers readers.subscribers
daemon daemon.process  runtime daemon.jobtable  scheduler daemon.scheduler
status daemon.status  supervise daemon.supervise  connguard daemon.connguard
preflight daemon.preflight
web.views web.pageviews  store.views store.pageviews
"""
M = dict(zip(MOVES.split()[::2], MOVES.split()[1::2], strict=True))

# store/webstate.py was split by table: each function now lives with its table's queries.
WEBSTATE = {
    "bump": "ratecounters", "prune_counters": "ratecounters", "log_share": "sharelog",
    "share_recipient": "sharelog", "shares": "sharelog", "published_article": "articles",
    "is_suppressed": "suppressions", "unsuppress": "suppressions", "content_id": "outbox",
    "run_archive": "digest_runs", "subscriber_by_id": "subscribers", "set_status": "subscribers",
    "set_choice": "subscribers", "Pending": "subscribers", "set_pending": "subscribers",
    "pending": "subscribers", "delete_subscriber": "subscribers",
}  # fmt: skip
ALIAS = {
    "ratecounters": "ratecounters", "sharelog": "sharelog", "articles": "store_articles",
    "suppressions": "store_suppressions", "outbox": "store_outbox", "digest_runs": "digest_runs",
    "subscribers": "store_subscribers",
}  # fmt: skip
# Names that changed with the move (old module, old name) → new name.
NAMES = {
    ("jobtable", "Runtime"): "JobTable", ("drainstore", "Ledger"): "DrainStore",
    ("translations", "STRINGS"): "MAIL_STRINGS", ("translations", "WEB_STRINGS"): "PAGE_STRINGS",
}  # fmt: skip
# Names that left a module split for size (issue 13, "no module over 400 lines").
SPLIT = {
    ("delivery.drain", "build_drain"): "delivery.configured",
    ("daemon.process", "ListenError"): "daemon.listeners",
}
# Loggers that were named by hand and are now named by __name__.
LOGGERS = {'"publisher.collect"': '"publisher.intake.polling"'}


def _exists(dotted: str) -> bool:
    path = PKG.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _dotted(m: re.Match[str]) -> str:
    a, b = m.group(1), m.group(2)
    if b and _exists(f"{a}.{b}"):
        return m.group(0)  # already the new layout
    if b and f"{a}.{b}" in M:
        return f"publisher.{M[f'{a}.{b}']}"
    if a in M and not (b is None and _exists(a)):
        return f"publisher.{M[a]}" + (f".{b}" if b else "")
    return m.group(0)


_DOT = re.compile(r"\bpublisher\.([a-z_]+)(?:\.([a-z_]+))?")
_FROM = re.compile(r"^(\s*)from publisher(\.[a-z_.]+)? import ([A-Za-z_, ]+?)(\s*#.*)?$")


def _module(base: str, name: str) -> str:
    """The module ``from publisher.<base> import <name>`` means in the new layout."""
    if not base or _exists(f"{base}.{name}"):
        return base  # ``from publisher import x`` or a submodule of the new layout
    if base in M and (PKG / base.replace(".", "/")).is_dir():
        return M[base]  # an old flat module whose name is now a package (feeds, render, …)
    if base in M and not _exists(base):
        return M[base]
    return base


def _from_line(m: re.Match[str], renames: dict[str, str]) -> list[str]:
    ind, base, names, cmt = m.group(1), (m.group(2) or "")[1:], m.group(3), m.group(4) or ""
    parts: list[tuple[str, str]] = []
    for item in (i.strip() for i in names.split(",") if i.strip()):
        n, _, al = (x.strip() for x in item.partition(" as "))
        module = _module(base, n)
        key = f"{module}.{n}" if module else n
        if key in M and not (_exists(key) and module == ""):
            pkg, _, new = M[key].rpartition(".")
            if not al and new != n:
                renames[n] = new
            parts.append((pkg, new + (f" as {al}" if al else "")))
            continue
        leaf = module.rpartition(".")[2]
        new_name = NAMES.get((leaf, n), n)
        if module == "store.webstate":
            module = f"store.{WEBSTATE[n]}"
        if module == "core.schedules" and n in ("parse_schedules", "load_schedules"):
            module = "daemon.scheduler"
        if module == "digests.selection" and n in ("Selection", "SectionGroup"):
            module = "core.models"
        if module == "store.pageviews" and n == "most_viewed":
            new_name = "top_articles"
        if (module, n) in SPLIT:  # moved when a module over 400 lines was split
            module = SPLIT[module, n]
        if new_name != n and not al:
            renames[rf"\b{n}\b"] = new_name
        parts.append((module, new_name + (f" as {al}" if al else "")))
    grouped: dict[str, list[str]] = {}
    for module, name in parts:
        grouped.setdefault(module, []).append(name)
    if list(grouped) == [base] and grouped[base] == [
        i.strip() for i in names.split(",") if i.strip()
    ]:
        return [m.group(0)]  # nothing to change
    return [
        f"{ind}from publisher{'.' + p if p else ''} import {', '.join(xs)}{cmt}"
        for p, xs in grouped.items()
    ]


def _split_webstate(m: re.Match[str]) -> str:
    others = [n.strip() for n in m.group(2).split(",") if n.strip() and n.strip() != "webstate"]
    kept = f"{m.group(1)}from publisher.store import {', '.join(others)}\n" if others else ""
    return f"{kept}{m.group(1)}from publisher.store import webstate"


def rewrite(text: str) -> str:
    text = re.sub(r"^(\s*)from publisher\.store import ([\w, ]*\bwebstate\b[\w, ]*)$",
                  _split_webstate, text, flags=re.M)  # fmt: skip
    renames: dict[str, str] = {}
    out: list[str] = []
    for line in text.split("\n"):
        m = _FROM.match(line)
        out.extend(_from_line(m, renames) if m else [_DOT.sub(_dotted, line)])
    text = "\n".join(out)
    for old, new in renames.items():
        if old.startswith("\\b"):
            text = re.sub(old, new, text)
        else:
            text = re.sub(r"(?<![\w.])" + old + r"\.(?=[A-Za-z_])", new + ".", text)
    for old, new in LOGGERS.items():
        text = text.replace(old, new)
    text = re.sub(r"\bstore_views\b", "store_pageviews", text)
    text = re.sub(r"\bstore_pageviews\.most_viewed\(", "store_pageviews.top_articles(", text)
    text = re.sub(r"\bselection\.most_viewed\(conn", "selection.most_viewed_for(conn", text)
    text = re.sub(r"\bselection\.(Selection|SectionGroup)\b", r"\1", text)
    if "webstate." in text:
        used = set()

        def sub(m: re.Match[str]) -> str:
            used.add(WEBSTATE[m.group(1)])
            return f"{ALIAS[WEBSTATE[m.group(1)]]}.{m.group(1)}"

        text = re.sub(r"\bwebstate\.(\w+)", sub, text)
        lines = [f"from publisher.store import {t}" + (f" as {ALIAS[t]}" if ALIAS[t] != t else "")
                 for t in sorted(used)]  # fmt: skip
        lines = [line for line in lines if f"\n{line}\n" not in text]
        new = "".join(f"{line}\n" for line in lines)
        text = re.sub(r"^from publisher\.store import webstate\n", new, text, flags=re.M)
    return text


def main(paths: list[str]) -> None:
    for p in paths:
        path = Path(p)
        old = path.read_text("utf-8")
        new = rewrite(old)
        if new != old:
            path.write_text(new, "utf-8")
            print(f"rewritten: {p}")


if __name__ == "__main__":
    main(sys.argv[1:])
