"""Composition root: builds the store, clock and the rest from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from publisher.core.clock import Clock, SystemClock
from publisher.core.config import Settings
from publisher.core.schedules import Schedules
from publisher.daemon.scheduler import load_schedules
from publisher.delivery.dkimsign import transform_for
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from publisher.store.types import Engine


@dataclass
class App:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def schedules(self) -> Schedules:
        return load_schedules(self.settings.schedules_file)

    def dkim_transform(self) -> Callable[[bytes], bytes] | None:
        """The per-message DKIM signer for the drain, or None when DKIM is off; ``DkimError``
        for half a configuration or a key that cannot sign."""
        s = self.settings
        return transform_for(
            selector=s.dkim_selector,
            domain=s.dkim_domain,
            key_file=s.dkim_private_key_file,
            from_address=s.from_address,
        )

    def migrate(self) -> tuple[str | None, str]:
        return upgrade(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
