"""Tables of consent log and advertising consent (issue 18).

They sit on the one ``metadata`` of ``schema``, which imports this module at its end, so
the metadata is whole wherever it is used."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from publisher.store.db import UTCDateTime
from publisher.store.schema import metadata

# --- consent log (issue 18, migration 0016) ---
# Append-only: rows are inserted, never changed or deleted (no store function does; on
# PostgreSQL a trigger refuses UPDATE and DELETE). No address is stored: ``address_hash`` is
# an HMAC of the canonical address with the site secret, so a deleted reader's proof of
# consent stays without their address, and the log cannot be reversed by hashing guesses.
consent_log = Table(
    "consent_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address_hash", String(64), nullable=False),
    Column("subscriber_id", Integer, nullable=True),  # informative: ids are reused
    Column("event", String(24), nullable=False),  # vocab.ConsentEvent
    Column("channel", String(16), nullable=False),  # vocab.ConsentChannel
    Column("at", UTCDateTime(), nullable=False),  # when it happened (the source's, on import)
    Column("recorded_at", UTCDateTime(), nullable=False),  # when this row was written
    Column("ip_hash", String(64), nullable=True),  # keyed hash of the client IP (web only)
    Column("text_version", String(40), nullable=False, default=""),
    Column("advertising", Integer, nullable=False, default=0),  # 1: consent to advertising
    Column("detail", Text, nullable=False, default="{}"),  # JSON: choices, source tool, …
    Index("ix_consent_log_address", "address_hash", "id"),
    Index("ix_consent_log_event_at", "event", "at"),
)

# Advertising consent per reader (mutable state the digest run and the reconfirmation job
# read; every change to it is also a consent_log row). No row: consent dates from confirmed_at.
advertising_consent = Table(
    "advertising_consent",
    metadata,
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("consented_at", UTCDateTime(), nullable=False),
    Column("asked_at", UTCDateTime(), nullable=True),  # reconfirmation mailed
    Column("lapsed_at", UTCDateTime(), nullable=True),  # no answer in time: no advertising
)
