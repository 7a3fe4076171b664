"""The drain as configured: its mailer, limits and timings read from the settings.

The composition root of delivery (``publisher deliver`` and the daemon's drain call it): the
drain itself only knows its two ports and a ``DeliverConfig``.
"""

from __future__ import annotations

from collections.abc import Callable

from publisher.core import tokens
from publisher.core.clock import Clock
from publisher.core.config import Settings
from publisher.delivery.drain import Drain
from publisher.delivery.drainstore import DeliverConfig, Report
from publisher.delivery.mailer import Mailer
from publisher.delivery.ratelimit import Limit
from publisher.store.types import Engine

__all__ = ["bounce_base", "build_drain"]


def bounce_base(settings: Settings) -> str:
    """The envelope sender before VERP: bounce_address, delivery_return_path or from_address."""
    return settings.bounce_address or settings.delivery_return_path or settings.from_address


def build_drain(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    transform: Callable[[bytes], bytes] | None = None,
    on_progress: Callable[[Report], None] | None = None,
    on_message: Callable[[str, str, str], None] | None = None,
) -> Drain:
    """The drain as configured: mailer from smtp_url, limits and schedule from settings."""
    mailer = Mailer(
        settings.smtp_url,
        pool_size=settings.smtp_pool_size,
        connect_timeout=settings.smtp_connect_timeout,
        command_timeout=settings.smtp_command_timeout,
        data_timeout=settings.smtp_data_timeout,
    )
    config = DeliverConfig(
        sender=bounce_base(settings),
        verp_secret=tokens.signing_secret(settings.secret_key, settings.demo),
        pool_size=settings.smtp_pool_size,
        rate=settings.delivery_rate,
        domain_limits={
            d: Limit(rate=lim.rate, connections=lim.connections)
            for d, lim in settings.delivery_domain_limits.items()
        },
        lease=settings.lease_duration,
        mark_batch=settings.mark_batch_size,
        backoff_min=settings.backoff_min,
        backoff_max=settings.backoff_max,
        breaker_threshold=settings.circuit_breaker_threshold,
        grace=settings.shutdown_grace,
        db_priority=settings.db_thread_priority,
    )
    return Drain(
        engine, mailer, clock, config=config, transform=transform, on_progress=on_progress,
        on_message=on_message,
    )  # fmt: skip
