"""Daemon: the `publisher run` process (uvicorn, scheduler, drain), its job table, status,
preflight.
"""
