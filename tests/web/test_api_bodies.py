"""Request bodies the API cannot read are 400 bad_request; readable JSON that fails is 422."""

from __future__ import annotations

from typing import Any

import pytest

from publisher.consent.record import Act
from publisher.readers.signup import unsubscribe_id
from tests.webkit import API_KEY, Web, subscriber_status

pytestmark = pytest.mark.asyncio
JSON = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
CSV = {"X-API-Key": API_KEY, "Content-Type": "text/csv"}
ARTICLE = {
    "url": "https://news.example.kr/article/900", "title": "새 기사",
    "published_at": "2026-11-23T21:50:00Z", "section": "politics",
}  # fmt: skip
ENDPOINTS = [("PUT", "/api/articles/x900"), ("POST", "/api/articles:batch")]


def error_of(body: dict[str, Any]) -> tuple[str, str | None]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]["code"], body["error"]["field"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"not json", JSON),
        (b'{"url": ', JSON),  # cut short
        (b"", JSON),
        (b"\xff\xfe", JSON),
        (b'{"url": "https://news.example.kr/1"}', {"X-API-Key": API_KEY}),  # no content type
        (b"url=https://news.example.kr/1", {"X-API-Key": API_KEY,
         "Content-Type": "application/x-www-form-urlencoded"}),  # curl -d's default
    ],
)  # fmt: skip
async def test_a_body_that_is_not_json_is_bad_request(
    web: Web, method: str, path: str, content: bytes, headers: dict[str, str]
) -> None:
    r = await web.client.request(method, path, content=content, headers=headers)
    assert r.status_code == 400, r.text
    assert error_of(r.json()) == ("bad_request", None)
    assert "JSON" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/api/articles/x900", [ARTICLE], None),  # JSON, but not an object
        ("PUT", "/api/articles/x900", "x900", None),
        ("PUT", "/api/articles/x900", {**ARTICLE, "url": "javascript:x"}, "url"),
        ("POST", "/api/articles:batch", ARTICLE, None),  # JSON, but not a list
    ],
)
async def test_json_that_fails_validation_stays_invalid(
    web: Web, method: str, path: str, body: Any, field: str | None
) -> None:
    r = await web.client.request(method, path, json=body, headers={"X-API-Key": API_KEY})
    assert r.status_code == 422, r.text
    assert error_of(r.json()) == ("invalid", field)


async def test_good_json_still_works(web: Web) -> None:
    r = await web.client.put("/api/articles/x900", json=ARTICLE, headers=JSON)
    assert r.json() == {"id": "x900", "outcome": "added"}
    r = await web.client.post("/api/articles:batch", json=[{**ARTICLE, "id": "x900"}],
                              headers=JSON)  # fmt: skip
    assert r.json()["results"][0]["outcome"] == "unchanged"


async def test_csv_import_that_is_not_utf8_is_bad_request(web: Web) -> None:
    body = b"email,name\nkim@example.kr,Kim\nlee@example.kr,\xff\n"
    r = await web.client.post("/api/subscribers", content=body, headers=CSV)
    assert r.status_code == 400
    assert error_of(r.json()) == ("bad_request", None)
    assert "line 3: not UTF-8" in r.json()["error"]["message"]
    assert subscriber_status(web.engine, "kim@example.kr") is None  # nothing imported


async def test_adding_again_does_not_resubscribe_an_unsubscribed_reader(web: Web) -> None:
    row = {"email": "kim@example.kr", "status": "confirmed"}
    r = await web.client.post("/api/subscribers", json=row, headers=JSON)
    assert r.json() == {"outcome": "added"}
    listed = await web.client.get("/api/subscribers", headers=JSON)
    (kim,) = [s for s in listed.json()["subscribers"] if s["email"] == "kim@example.kr"]
    unsubscribe_id(web.engine, kim["id"], now=web.clock.now(), act=Act("api", "k"))

    r = await web.client.post("/api/subscribers", json=row, headers=JSON)
    assert r.json() == {"outcome": "unchanged"}
    csv_body = b"email,status\nkim@example.kr,confirmed\n"
    r = await web.client.post("/api/subscribers", content=csv_body, headers=CSV)
    assert (r.json()["added"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, 1)
    assert subscriber_status(web.engine, "kim@example.kr") == "unsubscribed"
