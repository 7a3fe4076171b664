"""GET /api/runs/{id}/report: a digest run's click report (operators, API key)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from publisher.analytics.report import run_report
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.core.storable import INT4_MAX
from publisher.web.api import require_key
from publisher.web.context import context_of
from publisher.web.errors import ApiError


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/api", dependencies=[Depends(require_key)], tags=["operators"])

    @r.get(
        "/runs/{run_id}/report",
        responses={401: {"description": "missing or wrong API key"},
                   404: {"description": "no such run"}},
    )  # fmt: skip
    async def report(request: Request, run_id: int = Path(ge=1, le=INT4_MAX)) -> dict[str, Any]:
        """Clicks per article, position and section (human and machine apart), the unique-click
        estimate, opens (when tracked; unreliable) and the run's delivery, bounces and
        complaints."""
        ctx = context_of(request)
        try:
            found = await asyncio.to_thread(run_report, ctx.engine, run_id)
        except InputError as exc:
            raise ApiError(404, exc.reason, field="run_id") from None
        return found.as_json()

    return r
