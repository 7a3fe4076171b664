"""The inbound side of mail: bounces, complaints, emailed unsubscribes and auto-replies.

``message`` reads one message within a size bound; ``classify`` says what it is (with
``bounces``, flufl.bounce's home, and ``reports`` for ARF); ``match`` finds the outbox row
it names (VERP token, then the original Message-ID, then the reported addresses; only a
token match, or a signed webhook, may act); ``effects`` applies what it means in one
transaction with its record; ``process`` ties them together for the sources (``maildir``,
``imap``, the CLI) and ``webhooks/`` for the sending services' events.
"""
