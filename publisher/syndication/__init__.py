"""Syndication beyond RSS (issue 17): the event log's use cases, signed webhooks, IndexNow
and ninjs. The sitemaps and the partner MRSS feed are built with the feeds (publisher.feeds)."""
