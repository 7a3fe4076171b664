"""/docs works offline (its Swagger UI files come from this app), and / and unknown paths
answer a browser with a page and an API client with JSON."""

from __future__ import annotations

import re

import pytest

from tests.webkit import Web

pytestmark = pytest.mark.asyncio
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
URL_ATTR = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


async def test_docs_reference_no_other_host_and_their_assets_load(web: Web) -> None:
    r = await web.client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text
    refs = URL_ATTR.findall(r.text)
    assert refs, r.text
    assert not [u for u in refs if "//" in u], refs  # every reference is relative: this app
    assert "cdn" not in r.text.lower()
    assert '"validatorUrl": null' in r.text  # no badge fetched from validator.swagger.io
    for ref in refs:
        asset = await web.client.get(f"/{ref}")
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000, ref
    js = await web.client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in js.content
    assert (await web.client.get("/docs/assets/..%2Fcore.py")).status_code == 404
    assert (await web.client.get("/docs/assets/redoc.standalone.js")).status_code == 404


async def test_home_is_a_page_for_browsers_and_json_for_clients(web: Web) -> None:
    page = await web.client.get("/", headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "한빛일보 뉴스레터" in page.text and 'href="subscribe"' in page.text
    api = await web.client.get("/")
    assert api.status_code == 200 and api.json()["docs"] == "docs"


async def test_unknown_paths_are_a_page_for_browsers_and_json_for_clients(web: Web) -> None:
    page = await web.client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "페이지를 찾을 수 없습니다" in page.text
    assert 'href="https://news.example.kr/newsletter/subscribe"' in page.text
    en = await web.client.get("/no/such/page?lang=en", headers=BROWSER)
    assert "Page not found" in en.text
    api = await web.client.get("/no/such/page")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    # Under /api a browser gets JSON too: it is the API.
    under_api = await web.client.get("/api/nothing", headers=BROWSER)
    assert under_api.status_code == 404 and under_api.json()["error"]["code"] == "not_found"
