"""--log-format json: one object a line with the documented fields, extras included."""

from __future__ import annotations

import json
import logging

from publisher.core.logs import JsonFormatter


def test_json_lines_carry_the_documented_fields_and_extras_only() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Started %s", ("x",), None
    )
    record.job = "feeds"
    record.color_message = "Started \x1b[1m%s\x1b[0m"  # what uvicorn adds to its records
    line = json.loads(JsonFormatter().format(record))
    assert set(line) == {"ts", "level", "logger", "msg", "job"}
    assert (line["level"], line["logger"], line["msg"], line["job"]) == (
        "info", "uvicorn.error", "Started x", "feeds"
    )  # fmt: skip
