"""The one error tree: every domain error is a ``PublisherError``.

Callers that turn an error into a user message (the CLI's ``fail``, the API's 4xx) catch one of
these, never a bare ``ValueError``: a ``ValueError`` from a bug must stay a bug (a traceback, a
500), not become a message that reads like the user's mistake.

Some kinds also subclass ``ValueError``: pydantic validators must raise ``ValueError`` to be
reported as a field problem, and code written before this tree (and its tests) catches
``ValueError``; each such class says so.
"""

from __future__ import annotations


class PublisherError(Exception):
    """Base of every error publisher raises on purpose."""


class InputError(PublisherError, ValueError):
    """A value given by a user (a form field, an API field, a CLI option) that cannot be accepted.

    ``field`` names it, so that a caller never parses it out of the message; ``str()`` reads
    ``field: reason``. A ``ValueError`` too: pydantic validators raise it.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ParseError(PublisherError, ValueError):
    """A duration or timestamp that does not parse; the caller knows which field it was.

    A ``ValueError`` too: the settings' pydantic validators call the same parsers.
    """


class ScheduleError(PublisherError, ValueError):
    """The schedules file is missing or invalid; each line of the message is one problem.

    A ``ValueError`` too: callers outside the CLI and web (and their tests) catch it as one.
    """
