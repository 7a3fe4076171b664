"""Feeds: which feeds exist, their items, RSS/Atom/JSON bytes, the index page, atomic writes,
WebSub.
"""
