"""Tables of inbound mail and digest holds (issue 14).

They sit on the one ``metadata`` of ``schema``, which imports this module at its end, so
the metadata is whole wherever it is used."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from publisher.store.db import UTCDateTime
from publisher.store.schema import metadata

# --- inbound mail (issue 14, migration 0011) ---
# One row per inbound message or webhook event, written with its effect in one transaction:
# the unique key (a hash of the Message-ID, or of the bytes) makes reprocessing apply nothing
# twice. Soft bounces per address (the bounce score) and bounces and complaints per digest
# run are counted from here.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("source", String(80), nullable=False),  # kind:name, e.g. maildir:bounces
    Column("received_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # core.vocab.InboundOutcome
    Column("matched", Integer, nullable=False, default=0),  # 1: named one of our messages
    Column("outbox_id", Integer, nullable=True),  # no foreign key: outbox rows are purged
    Column("digest_id", String(40), nullable=True),
    Column("run_id", Integer, nullable=True),
    Column("address", String(320), nullable=True),  # canonical form
    Column("detail", Text, nullable=False, default=""),
    Index("ix_inbound_address_outcome", "address", "outcome", "received_at"),
    Index("ix_inbound_run", "run_id", "outcome"),
    Index("ix_inbound_received", "received_at"),
)

# Digests whose runs are held (the complaint circuit breaker, or an operator) until resumed.
digest_holds = Table(
    "digest_holds",
    metadata,
    Column("digest_id", String(40), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("held_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# --- webhook tokens (issue 14 review, migration 0017) ---
# Mailgun signs only timestamp + token, not the event: each (provider, token) is used once.
# A row is kept while its signed time is inside webhook_tolerance (later the time check
# refuses the token anyway), then purged.
webhook_tokens = Table(
    "webhook_tokens",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("token", String(200), nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("provider", "token"),
    Index("ix_webhook_tokens_signed", "signed_at"),
)
