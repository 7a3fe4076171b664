"""`publisher deliver` as a subprocess under faults: a killed drain's rows, a refused return
path, an unreadable DKIM key. A real aiosmtpd counts what arrived."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher.core.clock import SystemClock
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.outboxkit import fill, statuses, suppressed
from tests.smtpserver import Behaviour, ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
POOL, MARK_BATCH = 8, 50
BOUND = 2 * MARK_BATCH + POOL


def _env(db: str, smtp_url: str, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")},
        "PYTHONPATH": str(ROOT),
        "PUBLISHER_DEMO": "true",
        "PUBLISHER_DATABASE_URL": db,
        "PUBLISHER_SMTP_URL": smtp_url,
        "PUBLISHER_DELIVERY_RATE": "0",
        "PUBLISHER_DELIVERY_DOMAIN_LIMITS": "{}",
        "PUBLISHER_SMTP_POOL_SIZE": str(POOL),
        "PUBLISHER_MARK_BATCH_SIZE": str(MARK_BATCH),
        **extra,
    }


SMTP_SINK = "/usr/sbin/smtp-sink"
CMD = [sys.executable, "-m", "publisher", "deliver", "--until-empty"]


@pytest.mark.slow
def test_rows_of_a_killed_drain_are_sent_at_once_by_the_next(tmp_path: Path) -> None:
    n = 1500
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), n)
    with ThreadedServer(Behaviour(final_delay=0.01)) as smtpd:
        env = _env(db, smtpd.url)  # lease_duration stays at its default, 15 minutes
        record = smtpd.server.record
        proc = subprocess.Popen(CMD, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(record.messages) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the first drain finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert "sending" in statuses(engine)  # the dead drain's leases
        started = time.monotonic()
        done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=300)
        took = time.monotonic() - started
        received = record.recipients()
    assert done.returncode == 0, done.stderr.decode()
    assert statuses(engine) == {"sent": n}  # one run: no 15-minute wait for the leases
    assert took < 120
    assert set(received) == {f"user{i}@example.kr" for i in range(n)}  # 0 lost
    assert sum(c - 1 for c in received.values()) <= BOUND
    engine.dispose()


def test_refused_return_path_pauses_exit_3_and_suppresses_nobody(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sender.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 300)
    reply = "553 5.1.8 Sender address rejected: Domain not found"
    with ThreadedServer(Behaviour(mail_reply=lambda _s: reply)) as smtpd:
        done = subprocess.run(
            CMD, cwd=tmp_path, env=_env(db, smtpd.url), capture_output=True, timeout=120
        )
        accepted = len(smtpd.server.record.messages)
    err = done.stderr.decode()
    assert done.returncode == 3, err
    assert "refuses the return path" in err and "5.1.8" in err and "Traceback" not in err
    assert accepted == 0
    assert suppressed(engine) == []
    assert set(statuses(engine)) <= {"queued", "deferred"}
    engine.dispose()


def test_missing_dkim_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dkim.db'}"
    env = _env(
        db,
        f"maildir://{tmp_path / 'mail'}",
        PUBLISHER_DKIM_SELECTOR="s1",
        PUBLISHER_DKIM_PRIVATE_KEY_FILE=str(tmp_path / "missing.pem"),
    )
    done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    err = done.stderr.decode().strip()
    assert done.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert "dkim_private_key_file" in err and "missing.pem" in err


# --- a sender refusal that comes at RCPT TO (Postfix's default smtpd_delay_reject=yes) ---

RETURN_PATH = "news@example.kr"
POSTFIX_SENDER_REJECT = (
    f"550 5.1.0 <{RETURN_PATH}>: Sender address rejected: User unknown in local recipient table"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "smtp-sink did not start"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.02)
    raise AssertionError("smtp-sink did not listen in time")


def _assert_paused_for_return_path(done: subprocess.CompletedProcess[bytes]) -> None:
    err = done.stderr.decode().strip()
    assert done.returncode == 3, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert f"<{RETURN_PATH}>" in err and "return path" in err


@pytest.mark.skipif(not Path(SMTP_SINK).exists(), reason="postfix's smtp-sink is not installed")
def test_postfix_sender_rejection_at_rcpt_pauses_and_suppresses_nobody(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rcpt-sender.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 200)
    port = _free_port()
    privs = ["-u", "root"] if os.geteuid() == 0 else []
    text = POSTFIX_SENDER_REJECT
    sink = subprocess.Popen(
        [SMTP_SINK, *privs, "-f", "RCPT", "-B", text, f"127.0.0.1:{port}", "100"]
    )
    try:
        _wait_listening(port, sink)
        env = _env(db, f"smtp://127.0.0.1:{port}", PUBLISHER_DELIVERY_RETURN_PATH=RETURN_PATH)
        done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    finally:
        sink.terminate()
        sink.wait(10)
    _assert_paused_for_return_path(done)
    assert "5.1.0" in done.stderr.decode()
    assert suppressed(engine) == []
    assert set(statuses(engine)) <= {"queued", "deferred"}  # no row failed
    engine.dispose()


def test_sender_rejection_at_pipelined_rcpt_pauses_and_suppresses_nobody(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rcpt-sender-pipelined.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 200)
    behaviour = Behaviour(pipelining=True, rcpt_reply=lambda _a: POSTFIX_SENDER_REJECT)
    with ThreadedServer(behaviour) as smtpd:
        env = _env(db, smtpd.url, PUBLISHER_DELIVERY_RETURN_PATH=RETURN_PATH)
        done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
        accepted = len(smtpd.server.record.messages)
    _assert_paused_for_return_path(done)
    assert accepted == 0
    assert suppressed(engine) == []
    assert set(statuses(engine)) <= {"queued", "deferred"}
    engine.dispose()


def test_one_bounce_text_for_everyone_pauses_and_stops_suppressing(tmp_path: Path) -> None:
    # A wording no rule knows: "550 5.1.1" with a text that names nobody, said to every
    # recipient. Real bounces differ per mailbox; this one is about us.
    db = f"sqlite:///{tmp_path / 'same-bounce.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 200)
    behaviour = Behaviour(rcpt_reply=lambda _a: "550 5.1.1 Unrouteable address")
    with ThreadedServer(behaviour) as smtpd:
        env = _env(db, smtpd.url, PUBLISHER_DELIVERY_RETURN_PATH=RETURN_PATH)
        done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    _assert_paused_for_return_path(done)
    assert "same hard bounce" in done.stderr.decode()
    # Past the limit (10) nobody more; the run's bounces not yet written down (a mark batch
    # is 50 here) are taken back too.
    assert suppressed(engine) == []
    assert set(statuses(engine)) <= {"queued", "deferred"}
    engine.dispose()


def test_bounces_that_name_their_mailbox_do_not_pause(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'real-bounces.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 60)
    behaviour = Behaviour(rcpt_reply=lambda a: f"550 5.1.1 <{a}>: Recipient address rejected")
    with ThreadedServer(behaviour) as smtpd:
        done = subprocess.run(
            CMD, cwd=tmp_path, env=_env(db, smtpd.url), capture_output=True, timeout=120
        )
    assert done.returncode == 0, done.stderr.decode()
    assert statuses(engine) == {"failed": 60}
    assert len(suppressed(engine)) == 60
    engine.dispose()


# --- DKIM half configured, or a key that cannot sign: one line, exit 2, nothing sent ---


def test_dkim_selector_without_key_file_sends_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dkim-half.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 5)
    maildir = tmp_path / "mail"
    env = _env(db, f"maildir://{maildir}", PUBLISHER_DKIM_SELECTOR="s1")
    done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    err = done.stderr.decode().strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1, err
    assert "dkim_private_key_file" in err and "dkim_selector" in err and "Traceback" not in err
    assert not list(maildir.glob("*/*"))  # nothing sent unsigned
    assert statuses(engine) == {"queued": 5}
    engine.dispose()


def test_dkim_key_file_with_garbage_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dkim-garbage.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 5)
    key = tmp_path / "garbage.pem"
    key.write_text("not a key\n")
    maildir = tmp_path / "mail"
    env = _env(
        db, f"maildir://{maildir}", PUBLISHER_DKIM_SELECTOR="s1",
        PUBLISHER_DKIM_PRIVATE_KEY_FILE=str(key),
    )  # fmt: skip
    done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    err = done.stderr.decode().strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1, err
    assert "garbage.pem" in err and "cannot sign" in err and "Traceback" not in err
    assert not list(maildir.glob("*/*"))
    assert statuses(engine) == {"queued": 5}
    engine.dispose()
