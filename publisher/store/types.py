"""The store's handle types, so modules above the store can annotate without importing SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

__all__ = ["Connection", "Engine"]
