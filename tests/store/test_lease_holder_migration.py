"""The outbox records who holds a lease (host, process): the migration matches the schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from publisher.store.schema import metadata


def test_lease_holder_columns_match_the_schema(any_engine: Engine) -> None:
    columns = {c["name"] for c in inspect(any_engine).get_columns("outbox")}
    assert {"lease_host", "lease_process"} <= columns
    with any_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert not [d for d in diff if "outbox" in repr(d)]
