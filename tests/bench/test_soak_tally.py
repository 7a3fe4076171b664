"""The soak test's arithmetic (bench/soaktally.py): lost, duplicates by cause, waits."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from soakrelay import Accepted
from soaktally import Row, count

MID = {r: f"<{r}@news.example.kr>" for r in ("a@x", "b@x", "c@x", "d@x", "e@x", "f@x", "g@x")}


def row(rcpt: str, status: str) -> Row:
    return Row(rcpt, MID[rcpt], status)


def acc(rcpt: str, at: float, fault: str = "") -> Accepted:
    return Accepted(rcpt, MID[rcpt], at, fault)


def test_lost_duplicates_and_waits() -> None:
    accepted = [
        acc("a@x", 11.0, "drop_before_reply"), acc("a@x", 15.0),
        acc("b@x", 12.0), acc("b@x", 30.0),
        acc("f@x", 13.0), acc("f@x", 14.0),
        acc("g@x", 40.5), acc("g@x", 50.0),
    ]  # fmt: skip
    tally = count(
        rows=[
            row("a@x", "sent"),  # sent twice: the reply was hidden the first time
            row("b@x", "sent"),  # sent twice: kill -9 in between, then a SIGTERM
            row("c@x", "sent"),  # marked sent, never arrived: lost
            row("d@x", "failed"),  # 550 5.1.1: failed and suppressed, as it should
            row("e@x", "deferred"),  # still waiting at the deadline
            row("f@x", "sent"),  # sent twice with no fault in between
            row("g@x", "sent"),  # kept by the relay just after its drain was killed
        ],
        accepted=accepted,
        enqueued_at={"a@x": 10.0, "b@x": 10.0, "c@x": 10.0, "f@x": 10.0, "g@x": 40.0},
        events=[(20.0, "kill9"), (25.0, "sigterm"), (40.0, "kill9")],
        unknown=frozenset({"d@x"}),
        suppressed=["D@x", "f@x"],
    )
    assert (tally.lost, tally.sent_never_accepted, tally.lost_examples) == (1, 1, ["c@x"])
    assert tally.undrained == 1
    assert tally.failed_expected == 1
    assert tally.suppressed_wrongly == 1  # f@x was never refused
    assert tally.duplicates == {"drop_before_reply": 1, "kill9": 2, "no_fault": 1}
    assert (tally.accepted, tally.accepted_recipients, tally.sent_marks) == (8, 4, 5)
    assert tally.wait_max == 3.0 and tally.wrong_message_id == 0


def test_a_copy_with_another_rows_message_id_is_counted() -> None:
    tally = count(
        rows=[row("a@x", "sent")],
        accepted=[Accepted("a@x", MID["b@x"], 1.0, "")],
        enqueued_at={"a@x": 0.0},
        events=[],
        unknown=frozenset(),
        suppressed=[],
    )
    assert tally.wrong_message_id == 1 and tally.lost == 0
