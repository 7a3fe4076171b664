"""Who holds an outbox lease: this host and this process, in a form another drain can check.

A drain records ``host`` and ``process`` with every lease it takes. A drain that starts on
the same host frees at once the leases of a drain whose process is gone, instead of waiting
for ``lease_duration``. Leases of other hosts still expire normally: their processes cannot
be checked from here.

``host`` is the host name plus the PID namespace (two containers with the same host name
but separate process tables must not judge each other's PIDs). ``process`` is
``pid/start``, with the process start time in clock ticks since boot, so a PID reused by
an unrelated process does not keep a dead drain's leases alive.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Holder:
    host: str
    process: str


@cache
def this_host() -> str:
    name = socket.gethostname()
    try:
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        namespace = ""
    return f"{name}/{namespace}"[:255]


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from field 3 (state) on; empty where /proc is missing."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return []
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    return stat.rpartition(")")[2].split()


def start_ticks(pid: int) -> str | None:
    """The process start time (field 22 of /proc/PID/stat), or None where /proc is missing."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else None


def this_holder() -> Holder:
    pid = os.getpid()
    return Holder(host=this_host(), process=f"{pid}/{start_ticks(pid) or '-'}")


def is_alive(process: str) -> bool:
    """Whether the process recorded as ``pid/start`` on this host still runs.

    Unparseable records count as alive: a lease is only freed when death is certain.
    """
    pid_text, _, start = process.partition("/")
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    if len(fields) <= 19 or start in ("", "-"):
        return True
    return fields[19] == start
