"""Messages: MIME composition and enqueueing, for every producer of mail (digests, readers)."""
