"""Lease holder identity: a drain frees only the leases of processes certainly gone."""

from __future__ import annotations

import os
import subprocess
import sys

from publisher.delivery.leaseholder import is_alive, start_ticks, this_holder


def test_this_process_is_alive() -> None:
    assert is_alive(this_holder().process)


def test_a_finished_process_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not is_alive(f"{child.pid}/{start_ticks(child.pid) or 1}")


def test_a_reused_pid_is_not_the_recorded_process() -> None:
    me = os.getpid()
    ticks = start_ticks(me)
    if ticks is None:  # no /proc: only the PID can be checked
        return
    assert not is_alive(f"{me}/{int(ticks) + 1}")  # same PID, another start time


def test_unreadable_records_count_as_alive() -> None:
    assert is_alive("garbage")
    assert is_alive("")
