"""Top-level settings a TOML file put into an array of tables by mistake.

In TOML every key after a ``[[sources]]`` header belongs to that table, up to the next
header: a ``smtp_url = …`` written below the last ``[[inbound_sources]]`` is that source's
key, not a setting. Pydantic would only call it an unknown key of the source; this finds
such keys so start-up can say what happened and how to fix it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

HINT = "write top-level settings before the first [[...]] table"


def misplaced(toml: Mapping[str, Any], top_level: Collection[str]) -> list[tuple[str, str]]:
    """(table path, key) for each key of an array-of-tables item that is a top-level setting,
    e.g. ("inbound_sources[0]", "smtp_url"), in the file's order. None of the tables' own
    fields shares a name with a top-level setting (a test keeps it so), so such a key is
    never the table's own."""
    found: list[tuple[str, str]] = []
    for name, value in toml.items():
        if not isinstance(value, list):
            continue
        for i, item in enumerate(value):
            if isinstance(item, dict):
                found += [(f"{name}[{i}]", key) for key in item if key in top_level]
    return found


def problem(where: str, table: str, key: str) -> str:
    """The start-up problem line for one misplaced key."""
    header = table.partition("[")[0]
    return (
        f"{where}: {table}.{key}: misplaced setting: {key} is a top-level setting, but it comes "
        f"after the [[{header}]] header, so TOML puts it in that table ({table}); {HINT}"
    )
