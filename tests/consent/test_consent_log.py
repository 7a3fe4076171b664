"""The consent log, as a reader and an operator meet it: "my data", the CLI export, deletion."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from publisher.consent import history
from publisher.core import tokens
from publisher.store.consentschema import consent_log
from tests.webkit import Web, link_in, message_of, outbox_rows, subscriber_status

pytestmark = pytest.mark.asyncio
FORM = {"email": "reader@example.kr", "name": "김독자", "sections": ["politics"],
        "frequency": "daily"}  # fmt: skip


async def _signed_up(web: Web) -> str:
    """Subscribe by the form, confirm by the mailed link: the preferences path."""
    assert (await web.client.post("/subscribe", data=FORM)).status_code == 200
    [row] = outbox_rows(web.engine, "confirm")
    web.clock.advance(timedelta(minutes=5))
    assert (
        await web.client.post(link_in(message_of(web.engine, row), "confirm"))
    ).status_code == 200
    with web.engine.connect() as conn:
        sid = conn.execute(text("SELECT id FROM subscribers")).scalar_one()
    return "/preferences/" + tokens.make(
        web.settings.secret_key, "preferences", (sid,), now=web.clock.now()
    )


async def _my_data(web: Web, path: str) -> dict[str, object]:
    r = await web.client.post(path, data={"action": "export"})
    assert r.status_code == 200
    data = json.loads(r.text)
    assert isinstance(data, dict)
    return data


async def test_my_data_shows_the_consent_history(web: Web) -> None:
    page = await web.client.get("/subscribe")
    assert "광고성 정보" in page.text  # the consent text the version names is shown
    path = await _signed_up(web)
    web.clock.advance(timedelta(days=1))
    r = await web.client.post(path, data={"sections": ["economy"], "frequency": "weekly"})
    assert r.status_code == 200
    data = await _my_data(web, path)
    consent = data["consent"]
    assert isinstance(consent, list)
    assert [(c["event"], c["channel"]) for c in consent] == [
        ("subscribed", "form"),
        ("confirmed", "mail"),
        ("changed", "form"),
    ]
    first = consent[0]
    assert first["text_version"] == "2026-11"
    # A keyed hash of the client's IP (HMAC), never the IP itself.
    assert first["ip_hash"] and "203.0.113.7" not in json.dumps(consent)
    assert consent[1]["advertising"] is True
    assert consent[2]["detail"] == {"sections": ["economy"], "frequency": "weekly"}


async def test_saving_the_same_choice_again_adds_no_consent_row(web: Web) -> None:
    """Only a change of choice is a consent event: a reader who saves the preferences page
    without changing anything (or twice) leaves the log as it was."""
    path = await _signed_up(web)
    same = {"sections": ["politics"], "frequency": "daily"}
    assert (await web.client.post(path, data=same)).status_code == 200
    other = {"sections": ["economy"], "frequency": "weekly"}
    for _ in range(2):
        assert (await web.client.post(path, data=other)).status_code == 200
    consent = (await _my_data(web, path))["consent"]
    assert isinstance(consent, list)
    events = [c["event"] for c in consent]
    # Before: a "changed" row for every save, three here.
    assert events == ["subscribed", "confirmed", "changed"]


async def test_history_survives_unsubscribe_and_deletion_keeps_only_the_proof(web: Web) -> None:
    path = await _signed_up(web)
    assert (await web.client.post(path, data={"action": "unsubscribe"})).status_code == 200
    assert subscriber_status(web.engine, "reader@example.kr") == "unsubscribed"
    data = await _my_data(web, path)
    events = [c["event"] for c in data["consent"]]  # type: ignore[attr-defined]
    assert events == ["subscribed", "confirmed", "unsubscribed"]
    r = await web.client.post(f"{path}/delete", data={"confirm": "yes"})
    assert r.status_code == 200 and subscriber_status(web.engine, "reader@example.kr") is None
    # The proof stays, under a keyed hash of the address; the address itself is nowhere in it.
    secret = web.settings.secret_key
    rows = history.history(web.engine, secret, "Reader@Example.kr")
    assert [r["event"] for r in rows] == ["subscribed", "confirmed", "unsubscribed", "deleted"]
    with web.engine.connect() as conn:
        dump = " ".join(str(tuple(r)) for r in conn.execute(select(consent_log)))
    assert "reader@example.kr" not in dump.lower() and "김독자" not in dump


async def test_the_log_refuses_update_and_delete(web: Web) -> None:
    await _signed_up(web)
    with pytest.raises(DBAPIError, match="append-only"), web.engine.begin() as conn:
        conn.execute(text("UPDATE consent_log SET event = 'confirmed'"))
    with pytest.raises(DBAPIError, match="append-only"), web.engine.begin() as conn:
        conn.execute(text("DELETE FROM consent_log"))
    with web.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM consent_log")).scalar_one() == 2


async def test_cli_export_of_the_consent_log(web: Web, tmp_path: Path) -> None:
    await _signed_up(web)
    out = tmp_path / "consent.csv"
    env = {**os.environ, "PUBLISHER_DATABASE_URL": web.settings.database_url,
           "PUBLISHER_SECRET_KEY": web.settings.secret_key}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "subscribers", "export", "--consent", "-o", str(out)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["email"], r["event"]) for r in rows] == [
        ("reader@example.kr", "subscribed"),
        ("reader@example.kr", "confirmed"),
    ]
    assert "exported 2 consent log rows" in done.stdout


async def test_one_click_unsubscribe_is_logged_as_mail(web: Web) -> None:
    await _signed_up(web)
    with web.engine.connect() as conn:
        sid = conn.execute(text("SELECT id FROM subscribers")).scalar_one()
    unsub = tokens.make(web.settings.secret_key, "unsubscribe", (sid,), now=web.clock.now())
    r = await web.client.post(f"/u/{unsub}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    rows = history.history(web.engine, web.settings.secret_key, "reader@example.kr")
    assert (rows[-1]["event"], rows[-1]["channel"]) == ("unsubscribed", "mail")
    assert rows[-1]["ip_hash"]  # the client that posted, as a keyed hash
