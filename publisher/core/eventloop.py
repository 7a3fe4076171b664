"""The event loop `publisher run` and `publisher deliver` run on: uvloop's, or asyncio's own.

uvicorn picks uvloop for itself when it owns the loop; the daemon runs uvicorn's server
inside its own loop (daemon/process.py), so the choice is made here, once, for everything
in the process: the web app, the scheduler's jobs and the drain. Measured on the drain
(`bench/deliver.py`), uvloop cuts the event loop's CPU per message by about a sixth.
``event_loop = "asyncio"`` is the way back should a platform or a library misbehave on it;
where uvloop is not installed (it does not build on Windows), asyncio's loop runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from publisher.core.vocab import EventLoop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], kind: EventLoop = "uvloop") -> T:
    """``asyncio.run(main)`` on the loop of this kind."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            return asyncio.run(main)
        return uvloop.run(main)
    return asyncio.run(main)


def running() -> str:
    """The running loop's kind, as `status` and the start-up log name it."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
