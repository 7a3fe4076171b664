"""Delivery: the outbox drain, its store side, SMTP sessions, rate limits, DKIM."""
