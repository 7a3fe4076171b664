"""Click analytics: tracked links, honest click counting, reports (issue 16)."""
