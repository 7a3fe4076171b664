"""Schemathesis against /openapi.json: generated requests to every API operation, never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import API_KEY, UA, web_settings


@pytest.fixture
def web_schema(settings: Settings, engine: Engine, clock: FixedClock) -> schemathesis.BaseSchema:
    load_store(engine)
    clock.set(NOW)
    s = web_settings(settings)
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(s, context=ctx))


@pytest.mark.slow
def test_no_server_errors(web_schema: schemathesis.BaseSchema) -> None:
    """Each operation in turn, a bounded number of generated cases (the pytest plugin of this
    schemathesis release does not load under this pytest, so hypothesis drives it directly)."""
    checked = []
    for found in web_schema.get_all_operations():
        if isinstance(found, Err):
            raise found.err()
        operation = found.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=25, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(
                checks=[not_a_server_error], headers={"X-API-Key": API_KEY, "User-Agent": UA}
            )

        check()
        checked.append(operation.label)
    assert len(checked) >= 12, checked
