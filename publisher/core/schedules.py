"""schedules.yaml: the digests and the system jobs, validated with key paths.

The model itself never imports the scheduler: the daemon's loader (``daemon/scheduler.py``)
passes its trigger factory in, which checks each ``cron:`` while parsing and gives every
timing its ``trigger``. So importing a digest's model loads neither APScheduler nor the daemon.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from publisher.core.errors import ScheduleError
from publisher.core.timeparse import parse_duration
from publisher.core.vocab import ApprovalPolicy, DeadlineAction, SubscriberFrequency

SLUG = r"^[a-z0-9][a-z0-9-]*$"
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, Field(description="e.g. 30s, 10m, 24h, 7d")]


TriggerFactory = Callable[["Timing", tzinfo], Any]
"""A timing and a time zone → a trigger (``get_next_fire_time``); raises ValueError when the
timing cannot fire. The daemon's is ``scheduler.trigger_for``."""


def _factory(info: ValidationInfo) -> TriggerFactory | None:
    context = info.context
    return context.get("triggers") if isinstance(context, dict) else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weekly(_Strict):
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    at: str

    @field_validator("at")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _AT.match(value):
            raise ValueError(f"must be HH:MM, got {value!r}")
        return value


class Timing(_Strict):
    """Exactly one of cron / every / at / weekly."""

    cron: str | None = None
    every: str | None = None
    at: str | None = None
    weekly: Weekly | None = None
    _triggers: TriggerFactory | None = PrivateAttr(default=None)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        factory = _factory(info)
        if value is not None and factory is not None:
            factory(Timing.model_construct(cron=value), ZoneInfo("UTC"))
        return value

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        return None if value is None else _check_duration(value)

    @field_validator("at")
    @classmethod
    def _at(cls, value: str | None) -> str | None:
        if value is not None and not _AT.match(value):
            raise ValueError(f"must be HH:MM, got {value!r}")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Timing:
        given = [k for k in ("cron", "every", "at", "weekly") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of cron, every, at, weekly (got {given or 'none'})")
        return self

    @cached_property
    def every_span(self) -> timedelta | None:
        """``every`` as a duration (the string stays for messages and the README)."""
        return None if self.every is None else parse_duration(self.every)

    def trigger(self, tz: tzinfo) -> Any:
        """This timing's trigger, from the factory the schedules were parsed with."""
        if self._triggers is None:
            raise RuntimeError("no trigger factory: load schedules with daemon.scheduler")
        return self._triggers(self, tz)


class MostViewed(_Strict):
    count: int = Field(default=5, ge=0, le=20)
    window: str = "24h"
    exclude_listed: bool = False

    @cached_property
    def span(self) -> timedelta:
        """``window`` as a duration."""
        return parse_duration(self.window)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        return _check_duration(value)


class Digest(Timing):
    id: str = Field(pattern=SLUG, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    frequency: SubscriberFrequency = "daily"
    sections: Literal["all"] | list[Annotated[str, Field(pattern=SLUG)]] = "all"
    subject: str = Field(default="{{ site_name }} {{ date | ko_date }}", min_length=1)
    template: str = Field(default="digest", pattern=r"^[a-z0-9_-]+$")
    max_items: int = Field(default=20, ge=1, le=200)
    min_items: int = Field(default=1, ge=0)
    settle_minutes: int = Field(default=10, ge=0, le=24 * 60)
    most_viewed: MostViewed = MostViewed()
    first_window: str = "24h"
    stale_after: str = "6h"
    # 정보통신망법 제50조 (issue 18): "(광고)" subject, sender and 수신거부 notice, quiet hours,
    # only readers whose advertising consent has not lapsed. Editorial digests: false.
    advertising: bool = False
    # Approval (issue 15, digests/approval.py): a run waits for an editor until its deadline.
    approval: ApprovalPolicy = "none"
    approval_deadline: str | None = None
    approval_on_deadline: DeadlineAction | None = None

    @field_validator("first_window", "stale_after")
    @classmethod
    def _durations(cls, value: str) -> str:
        return _check_duration(value)

    @field_validator("approval_deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= timedelta(0):
            raise ValueError("must be longer than 0")
        return value

    @model_validator(mode="after")
    def _approval_shape(self) -> Digest:
        if self.approval == "required":
            if self.approval_deadline is None:
                raise ValueError(
                    "approval: required needs approval_deadline (e.g. 2h: how long a run "
                    "waits for an editor)"
                )
            return self
        extra = [k for k in ("approval_deadline", "approval_on_deadline") if getattr(self, k)]
        if extra:
            raise ValueError(f"{', '.join(extra)} only with approval: required")
        return self

    @cached_property
    def approval_span(self) -> timedelta | None:
        """How long after its due time a run waits for approval (None: no approval)."""
        if self.approval != "required" or self.approval_deadline is None:
            return None
        return parse_duration(self.approval_deadline)

    @property
    def on_deadline(self) -> DeadlineAction:
        """What the deadline does to an unapproved run (default: skip, never send unseen)."""
        return self.approval_on_deadline or "skip"

    @cached_property
    def first_span(self) -> timedelta:
        """``first_window`` as a duration."""
        return parse_duration(self.first_window)

    @cached_property
    def stale_span(self) -> timedelta:
        """``stale_after`` as a duration."""
        return parse_duration(self.stale_after)

    @property
    def settle(self) -> timedelta:
        return timedelta(minutes=self.settle_minutes)


def _default(*, every: str | None = None, cron: str | None = None) -> Any:
    # A fresh default per parse: the parse binds its trigger factory to it.
    return Field(default_factory=lambda: Timing(every=every, cron=cron))


class Jobs(_Strict):
    collect: Timing = _default(every="60s")
    feeds: Timing = _default(every="5m")
    deliver: Timing = _default(every="30s")
    cleanup: Timing = _default(cron="30 3 * * *")
    reconfirm: Timing = _default(cron="0 10 * * *")  # advertising consent (issue 18)
    inbound: Timing = _default(every="60s")  # bounces and unsubscribes (inbound_sources)

    def timings(self) -> tuple[Timing, ...]:
        return (
            self.collect, self.feeds, self.deliver, self.cleanup, self.reconfirm, self.inbound
        )  # fmt: skip


class Schedules(_Strict):
    timezone: str = "Asia/Seoul"
    digests: list[Digest] = []
    jobs: Jobs = Field(default_factory=Jobs)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Schedules:
        seen: set[str] = set()
        for d in self.digests:
            if d.id in seen:
                raise ValueError(f"duplicate digest id {d.id!r}")
            seen.add(d.id)
        return self

    @model_validator(mode="after")
    def _bind_triggers(self, info: ValidationInfo) -> Schedules:
        factory = _factory(info)
        for timing in (*self.digests, *self.jobs.timings()):
            timing._triggers = factory
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def digest(self, digest_id: str) -> Digest:
        for d in self.digests:
            if d.id == digest_id:
                return d
        raise KeyError(digest_id)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "literal[", "list[")):
            continue  # pydantic's union branch names say nothing to a user
        else:
            out += ("." if out else "") + part
    return out or "(top)"


def parse_schedules(
    text: str, *, source: str = "schedules.yaml", triggers: TriggerFactory | None = None
) -> Schedules:
    """Parse and validate; raise ScheduleError whose lines each name ``source: key.path``.

    Without ``triggers`` a ``cron:`` is not checked and no timing can give its trigger: the
    daemon's ``scheduler.parse_schedules`` passes them in.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{source}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScheduleError(f"{source}: (top): must be a mapping")
    try:
        return Schedules.model_validate(data, context={"triggers": triggers})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            msg = msg.removeprefix("Value error, ")
            line = f"{source}: {_key_path(err['loc'])}: {msg}"
            if line not in lines:
                lines.append(line)
        raise ScheduleError("\n".join(lines)) from None


def load_schedules(path: Path, *, triggers: TriggerFactory | None = None) -> Schedules:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ScheduleError(f"{path}: file not found") from None
    return parse_schedules(text, source=path.name, triggers=triggers)
