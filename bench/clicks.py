"""Click bench: GET /c/TOKEN on uvicorn on loopback, loaded with wrk.

    PYTHONPATH=. python bench/clicks.py [--seconds 8]

Two server processes in turn, same store (SQLite), same links:
- ``batched`` (as shipped): the click is classified and counted in memory
  (analytics/counting.py); the page views' flush writes the counts from a worker thread.
- ``naive`` (the baseline): every click is written in its own transaction on the request
  path (counts, email view, unique-client sketch), as a handler that inserts one row per
  click would.

A third server, ``bare``, is uvicorn answering a fixed 302 with no app at all: the ceiling
of this machine at this moment, printed so a run on a busy machine can be read.

Each request comes from a new reader (X-Forwarded-For from a trusted proxy, as behind nginx,
with one of 200 browser User-Agents) on one of 20 links, so every click is counted.
The store is written as shipped: every ``views_flush_seconds`` (10 s) or 20,000 waiting clicks.
Both app servers take the daemon's garbage-collector policy (daemon/gcpolicy.py) after
start-up, as ``publisher run`` does.
Target: batched ≥ 5,000 req/s with p99 ≤ 10 ms.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.core.config import Settings  # noqa: E402

LINKS = 20
WRK_LUA = """
local tokens = {%s}
math.randomseed(os.time())
local n = 0
request = function()
  n = n + 1
  local ip = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." ..
    math.random(1, 254)
  local headers = {}
  headers["User-Agent"] = "Mozilla/5.0 (Linux; Android 14; SM-S91" .. (n %% 200) ..
    ") AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36"
  headers["X-Forwarded-For"] = ip
  return wrk.format("GET", "/c/" .. tokens[math.random(1, #tokens)], headers)
end
"""


def settings_for(tmp: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp / 'bench.db'}", templates_dir=ROOT / "templates",
        schedules_file=ROOT / "schedules.yaml", secret_key="bench-secret-key-0123456789",
        site_name="한빛일보", site_url="https://news.example.kr/",
        public_base_url="http://127.0.0.1", from_address="news@news.example.kr",
        trust_forwarded_for=True,
    )  # fmt: skip


def prepare(settings: Settings) -> list[str]:
    """Articles in the store and the tracked links of one digest variant that lists them."""
    from publisher.analytics.links import ClickLinks
    from publisher.core.models import Article
    from publisher.store import articles as store_articles
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade
    from publisher.store.pageviews import resolve_ids

    engine = make_engine(settings.database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    batch = [
        Article(external_id=f"b{i}", url=f"https://news.example.kr/article/{i}",
                title=f"벤치마크 기사 {i}번", section="politics", section_name="정치",
                published_at=now - timedelta(hours=1), updated_at=now - timedelta(hours=1))
        for i in range(LINKS)
    ]  # fmt: skip
    with engine.begin() as conn:
        store_articles.ensure_sections(conn, [("politics", "정치")])
        store_articles.upsert_articles(conn, batch, now=now)
        ids = resolve_ids(conn, [a.external_id for a in batch])
    engine.dispose()
    links = ClickLinks(base_url="", secret=settings.secret_key, run_id=1, variant=1, now=now)
    return [links(ids[a.external_id], p).removeprefix("/c/") for p, a in enumerate(batch, 1)]


async def bare_redirect(scope: Any, receive: Any, send: Any) -> None:
    """The ceiling: uvicorn answering a fixed 302 with nothing behind it."""
    if scope["type"] != "http":
        return
    headers = [(b"location", b"https://news.example.kr/article/1"), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def serve(mode: str, tmp: Path) -> None:
    import uvicorn

    from publisher.analytics.counting import ClickRecorder
    from publisher.analytics.redirects import LinkTargets
    from publisher.analytics.scanners import Scanners
    from publisher.daemon import gcpolicy
    from publisher.web.app import create_app
    from publisher.web.clicks import ClickState
    from publisher.web.context import WebContext

    settings = settings_for(tmp)
    ctx = WebContext(settings)
    if mode == "naive":  # one write per click, on the request path
        recorder = ClickRecorder(ctx.engine, Scanners.load(), max_buffered=1, auto_flush=True)
        ctx.state["clicks"] = ClickState(recorder, LinkTargets(ctx.engine))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app: Any = bare_redirect if mode == "bare" else create_app(settings, context=ctx)
    if mode != "bare":  # both app servers, as `publisher run` does once the app is built
        gcpolicy.settle()
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            lifespan="off" if mode == "bare" else "on")  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


def wrk_clicks(port: int, seconds: float, tmp: Path, tokens: list[str]) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    assert wrk is not None, "wrk is not installed"
    script = tmp / "clicks.lua"
    script.write_text(WRK_LUA % ", ".join(f'"{t}"' for t in tokens))
    out = subprocess.run(
        [wrk, "-t1", "-c16", f"-d{int(seconds)}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale,
            "errors": int(bad.group(1)) if bad else 0,
            "requests": int(total.group(1)) if total else 0}  # fmt: skip


def stored_clicks(tmp: Path) -> int:
    from sqlalchemy import func, select

    from publisher.store.clickschema import click_counts
    from publisher.store.db import make_engine

    engine = make_engine(settings_for(tmp).database_url)
    with engine.connect() as conn:
        found = conn.execute(select(func.coalesce(func.sum(click_counts.c.count), 0))).scalar()
    engine.dispose()
    return int(found or 0)


def start_server(mode: str, tmp: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--tmp", str(tmp)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    time.sleep(0.5)  # let uvicorn finish its startup before the load starts
    return proc, port


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--serve")
    ap.add_argument("--tmp")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, Path(args.tmp))
        return
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tokens = prepare(settings_for(tmp))
        for mode in ("bare", "batched", "naive"):
            before = stored_clicks(tmp)
            proc, port = start_server(mode, tmp)
            try:
                found = wrk_clicks(port, args.seconds, tmp, tokens)
            finally:
                proc.terminate()  # lifespan shutdown writes what is still buffered
                proc.wait(30)
            found["stored"] = stored_clicks(tmp) - before
            results[mode] = found
            print(f"{mode:7s} GET /c/TOKEN (wrk -t1 -c16): {found['rps']:8.0f} req/s  "
                  f"p99 {found['p99_ms']:6.1f} ms  errors {found['errors']}  "
                  f"clicks stored {found['stored']} of {found['requests']}")  # fmt: skip
    b, n, bare = results["batched"], results["naive"], results["bare"]
    print(
        f"batched: {b['rps'] / n['rps']:.1f}x the throughput of one write per click, "
        f"p99 {n['p99_ms'] / max(b['p99_ms'], 0.001):.1f}x lower; "
        f"{b['rps'] / bare['rps']:.0%} of bare uvicorn's rate on this machine now"
    )
    ok = b["rps"] >= 5000 and b["p99_ms"] <= 10 and b["errors"] == 0
    print("target (batched ≥ 5000 req/s, p99 ≤ 10 ms):", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()
