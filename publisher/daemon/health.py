"""Health use case for the operations listener: does the database answer?"""

from __future__ import annotations

from publisher.store.health import ping
from publisher.store.types import Engine


def database_answers(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    return ping(engine)
