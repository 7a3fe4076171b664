"""A key of a ``[[...]]`` table that is a top-level setting is taken for a misplaced setting:
that holds only while no table's own field shares a name with a top-level setting."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

from publisher.core.config import Settings
from publisher.core.tomlplacement import misplaced


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def test_no_table_field_is_named_like_a_top_level_setting() -> None:
    top = set(Settings.model_fields)
    tables = {
        name: _models(field.annotation)
        for name, field in Settings.model_fields.items()
        if get_origin(field.annotation) is list and _models(field.annotation)
    }
    assert {"sources", "inbound_sources", "webhooks"} <= set(tables)
    clashes = {n: top & set(m.model_fields) for n, ms in tables.items() for m in ms}
    assert not any(clashes.values()), clashes


def test_only_tables_of_arrays_are_searched() -> None:
    toml = {"smtp_url": "x", "sections": ["a", "b"], "webhooks": [{"name": "w", "site_url": "y"}]}
    assert misplaced(toml, set(Settings.model_fields)) == [("webhooks[0]", "site_url")]
