"""Which recipients a bounce reports, temporarily or permanently: the only importer of
flufl.bounce (GNU Mailman's detectors for RFC 3464 DSNs and the many formats MTAs invented).

A detector that raises on a message it did not expect (a charset Python does not know, a
broken part) means "not understood here": the message is kept as unmatched, the job goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

# flufl.bounce logs every detector it runs at INFO, and every exception of one with a
# traceback: a bounce storm would flood the log with what we already count.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


@dataclass(frozen=True, slots=True)
class Failures:
    temporary: tuple[str, ...] = ()
    permanent: tuple[str, ...] = ()
    error: str = ""

    def __bool__(self) -> bool:
        return bool(self.temporary or self.permanent)


def _addresses(found: frozenset[bytes]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in found:
        addr = raw.decode("utf-8", "replace").strip().strip("<>").lower()
        if "@" in addr and len(addr) <= 320:
            out.append(addr)
    return tuple(sorted(out))


def failures(msg: Message) -> Failures:
    """The failed recipients flufl.bounce finds (none: not a bounce it knows)."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # a detector's own bug on hostile input: not understood
        return Failures(error=f"{type(exc).__name__}: {str(exc)[:200]}")
    perm = _addresses(permanent)
    return Failures(temporary=tuple(a for a in _addresses(temporary) if a not in perm),
                    permanent=perm)  # fmt: skip
