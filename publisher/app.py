"""Composition root: builds the store, clock and the rest from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from publisher.clock import Clock, SystemClock
from publisher.config import Settings
from publisher.schedules import Schedules, load_schedules
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

    def migrate(self) -> tuple[str | None, str]:
        return upgrade(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
