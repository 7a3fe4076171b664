"""Web bench: uvicorn on loopback, wrk (or an asyncio client) as the load.

    PYTHONPATH=. python bench/web.py [--seconds 8]

Two server processes in turn, same endpoints, same store (SQLite):
- ``async`` (as shipped): POST /api/views only touches memory, a worker thread writes the
  buffer; POST /articles/{id}/share answers once the message is in the outbox.
- ``sync`` (the baseline): every counted view is written in its own transaction on the
  request path, and every share renders its email and sends it over SMTP (Postfix's
  smtp-sink on loopback) before answering.

Targets: views ≥ 3,000 req/s with p99 ≤ 20 ms; share p99 ≤ 50 ms at 200 req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import smtplib
import socket
import statistics
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
from publisher.messages.enqueue import fill as fill_message  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari"
ARTICLES = 50
WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "%s"
math.randomseed(os.time())
request = function()
  local body = '{"article_id":"b' .. math.random(0, %d) .. '","visitor":"v' ..
    math.random(1, 1000000000) .. '"}'
  return wrk.format(nil, "/api/views", nil, body)
end
"""


def settings_for(tmp: Path, smtp_port: int) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp / 'bench.db'}", templates_dir=ROOT / "templates",
        schedules_file=ROOT / "schedules.yaml", secret_key="bench-secret-key-0123456789",
        site_name="한빛일보", site_url="https://news.example.kr/",
        public_base_url="http://127.0.0.1", from_address="news@news.example.kr",
        smtp_url=f"smtp://127.0.0.1:{smtp_port}", share_per_ip_hour=10**9,
        share_per_recipient_day=10**9, share_site_day=10**9, share_min_seconds=0,
        views_per_ip_minute=10**9, views_per_ip_article_hour=10**9, views_flush_seconds=1,
    )  # fmt: skip


def prepare(settings: Settings) -> None:
    from publisher.core.models import Article
    from publisher.store import articles as store_articles
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    batch = [
        Article(
            external_id=f"b{i}",
            url=f"https://news.example.kr/article/{i}",
            title=f"벤치마크 기사 {i}번: 정부, 내년 예산안 편성 방침 발표",
            section="politics",
            section_name="정치",
            summary="기획재정부는 국무회의에서 예산안을 의결했다고 밝혔다. " * 3,
            image_url=f"https://img.example.kr/{i}.jpg",
            published_at=now - timedelta(hours=1),
            updated_at=now - timedelta(hours=1),
        )
        for i in range(ARTICLES + 1)
    ]
    with engine.begin() as conn:
        store_articles.ensure_sections(conn, [("politics", "정치")])
        store_articles.upsert_articles(conn, batch, now=now)
    engine.dispose()


# -- the server process ------------------------------------------------------------------


def serve(mode: str, tmp: Path, smtp_port: int) -> None:
    import uvicorn

    from publisher.intake.pagehits import ViewRecorder
    from publisher.messages import mime
    from publisher.readers import sharing
    from publisher.web.app import create_app
    from publisher.web.context import WebContext

    settings = settings_for(tmp, smtp_port)
    ctx = WebContext(settings)
    if mode == "sync":
        ctx.recorder_ = ViewRecorder(ctx.engine, max_buffered=1, auto_flush=True)
        original = sharing.send

        def send_now(engine: Any, identity: Any, _t: Any, share: Any, **kw: Any) -> Any:
            fresh = sharing.Templates(ctx.renderer("ko"), identity)  # render every time
            ok = original(engine, identity, fresh, share, **kw)
            body = next(iter(fresh._cache.values()))
            msg = fill_message(body, {mime.TO: share.recipient}, "<b@b>")
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
                smtp.sendmail(identity.sender.address, [share.recipient], msg)
            return ok

        sharing.send = send_now  # type: ignore[assignment]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(create_app(settings, context=ctx), log_level="warning",
                            access_log=False, lifespan="on")  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


# -- the load ----------------------------------------------------------------------------


async def request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    found = re.search(rb"(?i)content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(found.group(1))) if found else b""
    return status, body


def post(path: str, body: bytes, ctype: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {UA}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def views_client(port: int, seconds: float, conns: int = 16) -> dict[str, Any]:
    lat: list[float] = []
    codes: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def one(c: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            body = f'{{"article_id":"b{n % ARTICLES}","visitor":"c{c}-{n}"}}'.encode()
            t = time.perf_counter()
            status, _ = await request(reader, writer, post("/api/views", body, "application/json"))
            lat.append(time.perf_counter() - t)
            codes[status] = codes.get(status, 0) + 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(conns)))
    return summary(lat, time.perf_counter() - start, codes)


def wrk_views(port: int, seconds: float, tmp: Path) -> dict[str, Any] | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = tmp / "views.lua"
    script.write_text(WRK_LUA % (UA, ARTICLES - 1))
    out = subprocess.run(
        [wrk, "-t1", "-c16", f"-d{int(seconds)}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale, "p50_ms": None,
            "errors": int(non2xx.group(1)) if non2xx else 0}  # fmt: skip


async def form_tokens(port: int, count: int, first: int) -> dict[int, str]:
    """One form per share, as a reader gets it: a form token is for one article, used once."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    found: dict[int, str] = {}
    for i in range(first, first + count):
        get = (
            f"GET /articles/b{i % ARTICLES}/share HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"User-Agent: {UA}\r\n\r\n"
        )
        _, page = await request(reader, writer, get.encode())
        token = re.search(rb'name="form_token" value="([^"]+)"', page)
        assert token is not None, "no form token on the share page"
        found[i] = token.group(1).decode()
    writer.close()
    return found


async def share_client(port: int, seconds: float, rate: float) -> dict[str, Any]:
    # Fetched before the clock starts: the measured request is the POST alone.
    tokens = await form_tokens(port, ARTICLES, -ARTICLES)
    tokens.update(await form_tokens(port, int(seconds * rate), 0))
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    lat: list[float] = []
    codes: dict[int, int] = {}

    async def one(i: int, due: float, record: bool = True) -> None:
        conn = await pool.get()
        body = (
            f"to=reader{i}%40example.kr&name=Bench+{i % 7}&note=%EC%9D%BD%EC%96%B4+%EB"
            f"%B3%B4%EC%84%B8%EC%9A%94&form_token={tokens[i]}"
        ).encode()
        status, _ = await request(*conn, post(f"/articles/b{i % ARTICLES}/share", body,
                                              "application/x-www-form-urlencoded"))  # fmt: skip
        if record:
            lat.append(time.perf_counter() - due)  # from the scheduled time: queueing counts
            codes[status] = codes.get(status, 0) + 1
        pool.put_nowait(conn)

    # Warm-up, not measured: the first share of each article renders its email once.
    for i in range(ARTICLES):
        await one(-1 - i, time.perf_counter(), record=False)
    start = time.perf_counter()
    tasks = []
    for i in range(int(seconds * rate)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return summary(lat, time.perf_counter() - start, codes)


def summary(lat: list[float], elapsed: float, codes: dict[int, int]) -> dict[str, Any]:
    lat.sort()
    ok = sum(n for c, n in codes.items() if 200 <= c < 300)
    return {"rps": len(lat) / elapsed, "p50_ms": statistics.median(lat) * 1000,
            "p95_ms": lat[int(len(lat) * 0.95) - 1] * 1000,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "max_ms": lat[-1] * 1000,
            "errors": len(lat) - ok}  # fmt: skip


def start_server(mode: str, tmp: Path, smtp_port: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, "--tmp", str(tmp), "--smtp", str(smtp_port)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    time.sleep(0.5)  # let uvicorn finish its startup before the load starts
    return proc, port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--share-rate", type=float, default=200.0)
    ap.add_argument("--serve")
    ap.add_argument("--tmp")
    ap.add_argument("--smtp", type=int, default=0)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, Path(args.tmp), args.smtp)
        return
    sink_bin = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    smtp_port = free_port()
    as_root = ["-u", "nobody"] if os.geteuid() == 0 else []  # smtp-sink refuses to run as root
    sink = subprocess.Popen([sink_bin, *as_root, f"127.0.0.1:{smtp_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    results: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            prepare(settings_for(tmp, smtp_port))
            for mode in ("async", "sync"):
                proc, port = start_server(mode, tmp, smtp_port)
                try:
                    views = wrk_views(port, args.seconds, tmp)
                    tool = "wrk -t1 -c16"
                    if views is None:
                        views, tool = asyncio.run(views_client(port, args.seconds)), "asyncio"
                    share = asyncio.run(share_client(port, args.seconds, args.share_rate))
                finally:
                    proc.terminate()
                    proc.wait(30)
                results[mode] = {"views": views, "share": share}
                print(f"{mode:5s} POST /api/views ({tool}): {views['rps']:8.0f} req/s  "
                      f"p99 {views['p99_ms']:6.1f} ms  errors {views['errors']}")  # fmt: skip
                print(f"{mode:5s} POST /articles/{{id}}/share at {args.share_rate:.0f}/s: "
                      f"{share['rps']:6.0f} req/s  p50 {share['p50_ms']:6.1f} ms  "
                      f"p95 {share['p95_ms']:6.1f} ms  p99 {share['p99_ms']:6.1f} ms  "
                      f"max {share['max_ms']:6.1f} ms  errors {share['errors']}")  # fmt: skip
    finally:
        sink.terminate()
    a, s = results["async"], results["sync"]
    print(f"views: {a['views']['rps'] / s['views']['rps']:.1f}x the throughput of sync writes; "
          f"share p99: {s['share']['p99_ms'] / a['share']['p99_ms']:.1f}x lower than "
          "render+SMTP per request")  # fmt: skip
    ok = (a["views"]["rps"] >= 3000 and a["views"]["p99_ms"] <= 20
          and a["share"]["p99_ms"] <= 50)  # fmt: skip
    print("targets (views ≥ 3000/s, p99 ≤ 20 ms; share p99 ≤ 50 ms):", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()
