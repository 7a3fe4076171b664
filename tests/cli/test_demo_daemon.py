"""`make demo` smoke test: the daemon starts, answers /healthz, mails the first digest, and
stops cleanly on SIGTERM. Only PUBLISHER_WEB_PORT moves it: links and images follow."""

from __future__ import annotations

import mailbox
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.pgserver import free_port

ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> int:
    return _fetch(url)[0]


def _fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status), resp.headers.get("Content-Type", ""), resp.read()
    except OSError:
        return 0, "", b""


@pytest.mark.slow
def test_demo_daemon_healthz_first_digest_and_clean_stop(tmp_path: Path) -> None:
    port, ops_port = free_port(), free_port()
    schedules = tmp_path / "schedules.yaml"
    schedules.write_text((ROOT / "samples" / "schedules.demo.yaml").read_text("utf-8"), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env |= {
        "PUBLISHER_WEB_PORT": str(port),
        "PUBLISHER_OPS_PORT": str(ops_port),
        "PUBLISHER_TEMPLATES_DIR": str(ROOT / "templates"),
        "PYTHONPATH": str(ROOT),
        "PUBLISHER_SCHEDULES_FILE": str(schedules),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher", "demo"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        healthy = False
        mail = tmp_path / "var" / "mail"
        messages: list[str] = []
        while time.monotonic() < deadline and not (healthy and len(messages) >= 3):
            healthy = healthy or _get(f"http://127.0.0.1:{port}/healthz") == 200
            if (mail / "new").exists():
                messages = list(mailbox.Maildir(mail, create=False).keys())
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.2)  # polling for a condition, not timing anything
        assert healthy, "the daemon never answered /healthz with 200"
        assert len(messages) == 3, "each of the 3 sample subscribers gets the first digest"
        assert _get(f"http://127.0.0.1:{port}/dev/mail") == 200
        _check_first_digest(mail, messages[0], port)
        status, _, feed = _fetch(f"http://127.0.0.1:{port}/feeds/popular/rss.xml")
        assert status == 200 and feed.count(b"<item>") >= 5  # most viewed, right away
        sent = 0.0
        while sent < 3 and time.monotonic() < deadline:  # the metric follows the 250 replies
            sent = _sent_metric(ops_port)
        assert sent == 3
        # SIGHUP with a broken file: the old schedule stays, the daemon keeps serving.
        schedules.write_text("digests:\n  - {id: demo, name: x, cron: 'not a cron'}\n", "utf-8")
        proc.send_signal(signal.SIGHUP)
        assert _get(f"http://127.0.0.1:{port}/healthz") == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        log = proc.stdout.read().decode() if proc.stdout else ""
        assert "keeping the old schedule" in log
        assert "digests[0].cron" in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _check_first_digest(mail: Path, key: str, port: int) -> None:
    """The digest links to the demo's own port and shows images the demo serves."""
    msg = mailbox.Maildir(mail, create=False).get_message(key)
    html = next(
        payload.decode()
        for p in msg.walk()
        if p.get_content_type() == "text/html"
        and isinstance(payload := p.get_payload(decode=True), bytes)
    )
    assert f"http://127.0.0.1:{port}/u/" in html and ":8080" not in html
    images = re.findall(rf'<img src="(http://127\.0\.0\.1:{port}/demo/images/\w+\.png)"', html)
    assert images, "the digest shows the sample images"
    status, ctype, body = _fetch(images[0])
    assert (status, ctype) == (200, "image/png") and body.startswith(b"\x89PNG")


def _sent_metric(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        families = list(text_string_to_metric_families(resp.read().decode()))
    names = {f.name for f in families}
    assert {"publisher_outbox_messages", "publisher_job_last_success"} <= names
    return sum(
        s.value
        for f in families
        for s in f.samples
        if s.name == "publisher_messages_total" and s.labels.get("outcome") == "sent"
    )
