"""The database: tables, named queries and migrations. SQLite by default, PostgreSQL by URL."""
