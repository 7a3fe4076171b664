"""The store's handle types, so modules above the store need not import SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

__all__ = ["Connection", "Engine"]
