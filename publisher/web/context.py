"""WebContext: what the routes need (settings, store, clock, recorder, renderers), built once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from fastapi import Request

from publisher.core.clock import Clock, SystemClock
from publisher.core.config import Settings
from publisher.core.schedules import Schedules
from publisher.daemon.scheduler import load_schedules
from publisher.intake.pagehits import ViewRecorder
from publisher.messages import fanout
from publisher.readers.sharing import Limits, Templates
from publisher.render.templates import Renderer, WebPages
from publisher.render.translations import PAGE_STRINGS
from publisher.store.db import make_engine
from publisher.store.types import Engine
from publisher.web import clientip

log = logging.getLogger("publisher.web")
T = TypeVar("T")
P = ParamSpec("P")


@dataclass
class WebContext:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    engine_: Engine | None = None
    recorder_: ViewRecorder | None = None
    schedules_: Schedules | None = None
    _renderers: dict[str, Renderer] = field(default_factory=dict)
    _share_templates: dict[str, Templates] = field(default_factory=dict)
    # Per-process state owned by the routes: the views limiter, cached answers and pages.
    state: dict[str, Any] = field(default_factory=dict)
    # Other in-memory counters written with the page views (the click counts): each a
    # flush() run on the store-writer thread by flush_views.
    flushers: list[Callable[[], int]] = field(default_factory=list)
    _flush_task: asyncio.Task[None] | None = None

    @cached_property
    def engine(self) -> Engine:
        return self.engine_ or make_engine(self.settings.database_url)

    @cached_property
    def recorder(self) -> ViewRecorder:
        # Never writes on the request path: the flush task runs it in a worker thread.
        return self.recorder_ or ViewRecorder(
            self.engine, auto_flush=False, per_source_hour=self.settings.views_per_ip_article_hour
        )

    @cached_property
    def identity(self) -> fanout.Identity:
        return fanout.Identity.from_settings(self.settings)

    @cached_property
    def schedules(self) -> Schedules | None:
        if self.schedules_ is not None:
            return self.schedules_
        try:
            return load_schedules(self.settings.schedules_file)
        except Exception:  # no schedules file: the subscribe form offers both frequencies
            log.warning("schedules: %s not readable; web pages use defaults",
                        self.settings.schedules_file)  # fmt: skip
            return None

    @cached_property
    def pages(self) -> WebPages:
        s = self.settings
        return WebPages(
            templates_dir=s.templates_dir, strings=PAGE_STRINGS, site_name=s.site_name,
            site_url=s.site_url, base_url=s.public_base_url.rstrip("/"),
        )  # fmt: skip

    @cached_property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(s.share_per_ip_hour, s.share_per_recipient_day, s.share_site_day)

    @cached_property
    def cors_origin(self) -> str:
        url = self.settings.cors_origin or self.settings.site_url
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url.rstrip("/")

    def now(self) -> datetime:
        return self.clock.now()

    def language(self, request: Request, form_value: str | None = None) -> str:
        lang = form_value or request.query_params.get("lang") or self.settings.language
        return lang if lang in PAGE_STRINGS else self.settings.language

    def renderer(self, language: str) -> Renderer:
        found = self._renderers.get(language)
        if found is None:
            s = self.settings.model_copy(update={"language": language})
            found = self._renderers[language] = fanout.renderer_for(s)
        return found

    def share_templates(self, language: str) -> Templates:
        found = self._share_templates.get(language)
        if found is None:
            found = Templates(self.renderer(language), self.identity)
            self._share_templates[language] = found
        return found

    def frequencies(self) -> list[str]:
        sched = self.schedules
        found: list[str] = sorted({str(d.frequency) for d in sched.digests}) if sched else []
        return found or ["daily", "weekly"]

    @cached_property
    def trusted_proxies(self) -> tuple[clientip.Network, ...]:
        return clientip.networks(self.settings.trusted_proxies)

    def client_address(self, request: Request) -> str:
        """The client's address: behind trusted proxies, the one the nearest of them saw."""
        peer = request.client.host if request.client else None
        if not self.settings.trust_forwarded_for:
            return peer or "unknown"
        forwarded = request.headers.getlist("x-forwarded-for")
        return clientip.client_address(peer, forwarded, self.trusted_proxies)

    def client_ip(self, request: Request) -> str:
        """What every per-IP limit counts on: the client address (an IPv6 client's /64)."""
        return clientip.limit_key(self.client_address(request))

    # -- writes: one thread, so SQLite writers queue here instead of busy-waiting ----------

    @cached_property
    def _writer(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    async def write(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store write off the event loop, one at a time in this process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, partial(fn, *args, **kwargs))

    # -- the view buffer: written off the event loop ------------------------------------

    async def flush_views(self) -> int:
        written = 0
        for flush in (self.recorder.flush, *self.flushers):
            try:
                written += await self.write(flush)
            except Exception:  # the counts stay buffered; the next tick retries
                log.exception("views: flush failed; will retry")
        return written

    async def flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.views_flush_seconds)
            await self.flush_views()

    def ensure_flusher(self) -> None:
        """Start the periodic view flush once, also when the server runs without lifespan."""
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(
                self.flush_loop(), name="views-flush"
            )

    async def close(self) -> None:
        """Stop the timer and write what is buffered (a server without lifespan calls this)."""
        task, self._flush_task = self._flush_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush_views()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> Any:
        self.ensure_flusher()
        try:
            yield
        finally:
            await self.close()
            if "_writer" in self.__dict__:
                self._writer.shutdown(wait=True)


def context_of(request: Request) -> WebContext:
    ctx = request.app.state.web
    assert isinstance(ctx, WebContext)
    return ctx
