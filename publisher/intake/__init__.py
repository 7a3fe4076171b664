"""Intake: articles in (validation, sanitising, batch imports, polled sources) and page views
in.
"""
