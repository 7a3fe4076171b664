"""Per-IP limits behind a real nginx: a forged X-Forwarded-For changes nothing.

nginx appends the address it saw ($proxy_add_x_forwarded_for, as the README's snippet does),
so the header reaching the app reads "whatever-the-client-wrote, real-client". The clients
here connect from 127.0.0.2 and 127.0.0.3 (all of 127/8 is loopback), nginx from 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests import nginxkit
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import UA, web_settings
from tests.webserver import bind_loopback, serve

pytestmark = pytest.mark.skipif(
    not nginxkit.available(), reason="nginx is not installed (apt-get install nginx; .ci/run does)"
)
FORM = {"name": "김독자", "frequency": "daily"}


@pytest.fixture(params=[False, True], ids=["app-alone", "uvicorn-proxy-headers"])
def behind_nginx(
    request: pytest.FixtureRequest, settings: Settings, engine: Engine, clock: FixedClock,
    tmp_path: Path,
) -> Iterator[str]:  # fmt: skip
    """The app under uvicorn, with and without uvicorn's own X-Forwarded-For handling."""
    load_store(engine)
    clock.set(NOW)
    s = web_settings(settings, trust_forwarded_for=True, subscribe_per_ip_hour=2,
                     views_per_ip_minute=3)  # fmt: skip
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    sock = bind_loopback()
    with (
        serve(create_app(s, context=ctx), sock, proxy_headers=request.param) as upstream,
        nginxkit.proxy(tmp_path / "nginx", upstream) as base,
    ):
        yield base


def client_from(address: str, base: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(transport=transport, base_url=base, headers={"User-Agent": UA})


def test_forged_forwarded_for_does_not_escape_the_subscribe_limit(behind_nginx: str) -> None:
    with client_from("127.0.0.2", behind_nginx) as c:
        codes = [
            c.post("/subscribe", data={**FORM, "email": f"r{i}@example.kr"},
                   headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(4)
        ]  # fmt: skip
    assert codes == [200, 200, 429, 429]
    with client_from("127.0.0.3", behind_nginx) as other:  # another client has its own count
        r = other.post("/subscribe", data={**FORM, "email": "other@example.kr"})
        assert r.status_code == 200


def test_forged_forwarded_for_does_not_escape_the_views_limit(behind_nginx: str) -> None:
    with client_from("127.0.0.2", behind_nginx) as c:
        codes = [
            c.post("/api/views", json={"article_id": "a0001", "visitor": f"v{i}"},
                   headers={"X-Forwarded-For": f"203.0.113.{i}, 10.0.0.{i}"}).status_code
            for i in range(5)
        ]  # fmt: skip
    assert codes == [204, 204, 204, 429, 429]
