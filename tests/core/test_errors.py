"""The one error tree: every named error is a PublisherError, and the CLI and the API turn
InputError (not any ValueError) into the same clear message as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.addresses import AddressError
from publisher.core.clock import FixedClock
from publisher.core.config import ConfigError, Settings
from publisher.core.errors import InputError, ParseError, PublisherError, ScheduleError
from publisher.core.httpclient import HttpError
from publisher.core.tokens import TokenError
from publisher.daemon.listeners import ListenError
from publisher.delivery.dkimsign import DkimError
from publisher.delivery.ports import RelayUnavailable
from publisher.delivery.smtpwire import ConnectionBroken
from publisher.digests.pipeline import NothingDue
from publisher.intake.records import FileError, NotUtf8
from publisher.intake.sources.base import SourceError
from publisher.intake.workers import WorkerDied
from publisher.messages.enqueue import SubstitutionError
from publisher.messages.mime import ComposeError
from publisher.readers import formcheck
from publisher.readers import subscribers as use
from publisher.readers.sharing import FormUsed, RateLimited
from publisher.readers.signup import Gone, TooMany
from publisher.render.linebudget import Unfit
from publisher.store.db import StoreError
from tests.digestkit import cli_store
from tests.webkit import API_KEY, open_web, web_settings

NAMED: list[type[Exception]] = [
    AddressError, ConfigError, HttpError, TokenError, ListenError, DkimError, RelayUnavailable,
    ConnectionBroken, NothingDue, FileError, NotUtf8, SourceError, WorkerDied, ComposeError,
    formcheck.InputError, FormUsed, RateLimited, Gone, TooMany, Unfit, StoreError,
    SubstitutionError, InputError, ParseError, ScheduleError,
]  # fmt: skip
# Still ValueErrors: pydantic validators raise them, and older callers catch them.
STILL_VALUE_ERRORS = [
    AddressError, TokenError, SubstitutionError, DkimError, ComposeError, Unfit, NotUtf8,
    InputError, ParseError, ScheduleError,
]  # fmt: skip


@pytest.mark.parametrize("kind", NAMED, ids=lambda k: k.__name__)
def test_every_named_error_is_a_publisher_error(kind: type[Exception]) -> None:
    assert issubclass(kind, PublisherError)


@pytest.mark.parametrize("kind", STILL_VALUE_ERRORS, ids=lambda k: k.__name__)
def test_kinds_kept_as_value_errors(kind: type[Exception]) -> None:
    assert issubclass(kind, ValueError)


def test_input_error_carries_its_field() -> None:
    err = InputError("email", "not a single address")
    assert (err.field, err.reason, str(err)) == ("email", "not a single address",
                                                  "email: not a single address")  # fmt: skip
    form = formcheck.InputError("name", "err_name", "missing")
    assert isinstance(form, InputError) and (form.field, form.key, str(form)) == (
        "name", "err_name", "name: missing"
    )  # fmt: skip


def test_cli_bad_address_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_store(tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["subscribers", "add", "not-an-address"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: email: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    purge = CliRunner().invoke(app, ["outbox", "purge", "--older-than", "1x"])
    assert purge.exit_code == 2
    assert "--older-than: not a duration: '1x' (use e.g. 30m, 24h, 7d)" in purge.stderr


def test_cli_a_bug_is_not_dressed_as_a_user_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_store(tmp_path, monkeypatch)

    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("email: a bug, not the user's mistake")

    monkeypatch.setattr(use, "add_or_update", broken)
    result = CliRunner().invoke(app, ["subscribers", "add", "kim@example.kr"])
    assert isinstance(result.exception, ValueError) and "error: email" not in result.stderr


@pytest.mark.asyncio
async def test_api_bad_address_is_a_422_naming_the_field(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    async for web in open_web(web_settings(settings), engine, clock):
        r = await web.client.post(
            "/api/subscribers", json={"email": "x@y"}, headers={"X-API-Key": API_KEY}
        )
        assert r.status_code == 422
        error = r.json()["error"]
        assert set(error) == {"code", "message", "field"} and error["field"] == "email"
        assert error["message"] and not error["message"].startswith("email:")
