"""The event loop setting: `publisher run` and `publisher deliver` run on the loop it names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from publisher.core import eventloop
from publisher.core.config import Settings
from publisher.core.vocab import EventLoop


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_a_coroutine_runs_on_the_loop_asked_for(kind: EventLoop) -> None:
    async def which() -> str:
        return eventloop.running()

    assert eventloop.run(which(), kind) == kind


def test_the_default_is_uvloop_and_the_environment_can_change_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().event_loop == "uvloop"
    monkeypatch.setenv("PUBLISHER_EVENT_LOOP", "asyncio")
    assert Settings().event_loop == "asyncio"
    monkeypatch.setenv("PUBLISHER_EVENT_LOOP", "trio")
    with pytest.raises(ValidationError, match="event_loop"):
        Settings()
