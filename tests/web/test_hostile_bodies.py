"""Bodies built to crash a parser are 400 in the JSON error shape, never 500."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest

from tests.webkit import API_KEY, Web, subscriber_status

pytestmark = pytest.mark.asyncio
JSON = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
DEEP = [
    b"[" * 100_000,  # RecursionError inside json.loads
    b"[" * 5_000 + b"]" * 5_000,  # valid JSON, deep enough to overflow whatever walks it
    b'{"a":' * 40 + b"1" + b"}" * 40,  # shallow enough to parse, deeper than anything we take
]
ENDPOINTS = [
    ("POST", "/api/views", {}),  # public
    ("POST", "/api/subscribers", JSON),
    ("PUT", "/api/articles/x1", JSON),
    ("POST", "/api/articles:batch", JSON),
]


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize("content", DEEP, ids=["unclosed", "closed", "objects"])
@pytest.mark.parametrize(("method", "path", "headers"), ENDPOINTS)
async def test_deeply_nested_json_is_400(
    web: Web, method: str, path: str, headers: dict[str, str], content: bytes
) -> None:
    r = await web.client.request(method, path, content=content, headers=headers)
    assert r.status_code in (400, 413), r.text  # 413: over the view beacon's 8 KiB
    code, message = error_of(r.json())
    if r.status_code == 400:
        assert code == "bad_request" and "JSON" in message


async def test_nested_json_within_the_view_cap_is_400(web: Web) -> None:
    r = await web.client.post("/api/views", content=b"[" * 5000)
    assert r.status_code == 400
    assert error_of(r.json()) == ("bad_request", "JSON nested deeper than 32 levels")


@pytest.fixture
def csv_field_limit(request: pytest.FixtureRequest) -> Iterator[int]:
    """The csv module's field limit is process-wide, and article CSV imports raise it (to
    16 Mi characters, publisher/intake/records.py): pin it for the test, then put it back."""
    before = csv.field_size_limit(request.param)
    yield int(request.param)
    csv.field_size_limit(before)


@pytest.mark.parametrize("csv_field_limit", [131_072, 16 << 20], indirect=True,
                         ids=["default-limit", "raised-limit"])  # fmt: skip
async def test_csv_cell_over_128_kib_is_a_clear_error_never_500(
    web: Web, csv_field_limit: int
) -> None:
    body = "email,name\nkim@example.kr,Kim\nlee@example.kr," + "x" * 140_000 + "\n"
    headers = {"X-API-Key": API_KEY, "Content-Type": "text/csv"}
    r = await web.client.post("/api/subscribers", content=body.encode(), headers=headers)
    if csv_field_limit == 131_072:  # csv.Error: the whole file is refused
        assert r.status_code == 400, r.text
        code, message = error_of(r.json())
        assert code == "bad_request" and message.startswith("CSV body line 3: field larger")
        assert "nothing was imported" in message
        assert subscriber_status(web.engine, "kim@example.kr") is None
    else:  # the cell is read; the row is refused on its own
        assert r.status_code == 200, r.text
        assert r.json()["errors"][0]["line"] == 3


async def test_normal_json_still_works(web: Web) -> None:
    r = await web.client.post("/api/views", json={"article_id": "a0001", "visitor": "v1"})
    assert r.status_code == 204
    r = await web.client.post("/api/subscribers", json={"email": "new@example.kr"},
                              headers={"X-API-Key": API_KEY})  # fmt: skip
    assert r.status_code == 200 and r.json() == {"outcome": "added"}
