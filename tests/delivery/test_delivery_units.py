"""Pure parts of delivery: reply classification, backoff schedule, preparation, splicing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from publisher.core.vocab import SmtpStage
from publisher.delivery.smtpwire import Failed, RetryAt, Sent, classify, prepare, unstuff
from publisher.messages.enqueue import Template, backoff, personalise
from tests.outboxkit import claimed_item


@pytest.mark.parametrize(
    ("code", "text", "stage", "expected"),
    [
        (250, "2.0.0 ok", "data", Sent("250 2.0.0 ok")),
        (451, "4.3.0 try later", "rcpt", RetryAt("451 4.3.0 try later")),
        (421, "4.7.0 too many connections from you", "mail",
         RetryAt("421 4.7.0 too many connections from you", policy=True)),
        (552, "5.2.2 mailbox full", "data", RetryAt("552 5.2.2 mailbox full")),
        (550, "5.1.1 no such user", "rcpt", Failed("550 5.1.1 no such user", hard_bounce=True)),
        (550, "no such user here", "rcpt", Failed("550 no such user here", hard_bounce=True)),
        (553, "5.1.3 bad address syntax", "rcpt",
         Failed("553 5.1.3 bad address syntax", hard_bounce=True)),
        (550, "5.7.26 unauthenticated", "rcpt", RetryAt("550 5.7.26 unauthenticated", policy=True)),
        (554, "5.6.0 message refused", "data", Failed("554 5.6.0 message refused")),
        (550, "content rejected", "data", Failed("550 content rejected")),
        # The sender side: never a bounce, never a failure; the run pauses (issue 12.1).
        (553, "5.1.8 Sender address rejected: Domain not found", "mail",
         RetryAt("553 5.1.8 Sender address rejected: Domain not found", sender=True)),
        (553, "5.1.7 bad sender address syntax", "mail",
         RetryAt("553 5.1.7 bad sender address syntax", sender=True)),
        (550, "5.1.0 sender rejected", "mail", RetryAt("550 5.1.0 sender rejected", sender=True)),
        (550, "5.1.1 unknown sender", "mail", RetryAt("550 5.1.1 unknown sender", sender=True)),
        (550, "sender refused", "mail", RetryAt("550 sender refused", sender=True)),
        (501, "5.5.4 bad MAIL parameter", "mail",
         RetryAt("501 5.5.4 bad MAIL parameter", sender=True)),
        (450, "4.1.8 Sender address rejected: Domain not found", "mail",
         RetryAt("450 4.1.8 Sender address rejected: Domain not found", sender=True)),
        (553, "5.1.8 Sender address rejected", "rcpt",
         RetryAt("553 5.1.8 Sender address rejected", sender=True)),
        (550, "5.1.7 sender syntax", "data", RetryAt("550 5.1.7 sender syntax", sender=True)),
        (550, "5.7.1 sender blocked by policy", "mail",
         RetryAt("550 5.7.1 sender blocked by policy", policy=True)),
        (451, "4.3.0 try later", "mail", RetryAt("451 4.3.0 try later")),
        (421, "4.3.2 shutting down", "mail", RetryAt("421 4.3.2 shutting down")),
        # Postfix rejects the sender at RCPT TO (smtpd_delay_reject=yes): the text decides
        # what an x.1.0 ("other address status") is about (issue: a 5.1.0 wiped a list).
        (550, "5.1.0 <news@example.kr>: Sender address rejected: User unknown in local "
         "recipient table", "rcpt",
         RetryAt("550 5.1.0 <news@example.kr>: Sender address rejected: User unknown in local "
                 "recipient table", sender=True)),
        (450, "4.1.0 <news@example.kr>: Sender address rejected: try later", "rcpt",
         RetryAt("450 4.1.0 <news@example.kr>: Sender address rejected: try later",
                 sender=True)),
        (550, "5.1.1 sender verify failed", "rcpt",
         RetryAt("550 5.1.1 sender verify failed", sender=True)),
        (550, "Sender address rejected", "rcpt", RetryAt("550 Sender address rejected",
                                                          sender=True)),
        # Our return path quoted, with no word: about the sender (news@example.kr).
        (550, "5.1.0 <news@example.kr>: rejected", "rcpt",
         RetryAt("550 5.1.0 <news@example.kr>: rejected", sender=True)),
        # An x.1.0 that names nobody: retried, never a bounce.
        (550, "5.1.0 Address rejected", "rcpt", RetryAt("550 5.1.0 Address rejected")),
        (550, "5.1.0 rejected", "data", RetryAt("550 5.1.0 rejected")),
        # An x.1.0 that names the recipient is a bounce.
        (550, "5.1.0 <a@b.kr>: Recipient address rejected", "rcpt",
         Failed("550 5.1.0 <a@b.kr>: Recipient address rejected", hard_bounce=True)),
        (550, "5.1.0 <a@b.kr> rejected", "rcpt",
         Failed("550 5.1.0 <a@b.kr> rejected", hard_bounce=True)),
        (550, "5.1.0 no such user", "rcpt", Failed("550 5.1.0 no such user", hard_bounce=True)),
        (550, "5.1.1 <a@b.kr>: Recipient address rejected: unknown (sender news@example.kr)",
         "rcpt", Failed("550 5.1.1 <a@b.kr>: Recipient address rejected: unknown (sender "
                        "news@example.kr)", hard_bounce=True)),
        # Quoting both addresses: read as being about the recipient.
        (550, "5.1.1 <a@b.kr> unknown, mail for <news@example.kr>", "rcpt",
         Failed("550 5.1.1 <a@b.kr> unknown, mail for <news@example.kr>", hard_bounce=True)),
        # Content refusals that mention a sender are still about the message.
        (554, "5.6.0 message from this sender looks like spam", "data",
         Failed("554 5.6.0 message from this sender looks like spam")),
        # The recipient side keeps its meaning.
        (550, "5.1.1 no such user", "data", Failed("550 5.1.1 no such user", hard_bounce=True)),
        (551, "5.1.6 user has moved", "rcpt",
         Failed("551 5.1.6 user has moved", hard_bounce=True)),
    ],
)  # fmt: skip
def test_reply_classification(code: int, text: str, stage: SmtpStage, expected: object) -> None:
    envelope = {"sender": "news@example.kr", "recipient": "a@b.kr"}
    assert classify(code, text, stage=stage, **envelope) == expected


def test_backoff_grows_from_one_minute_to_four_hours_with_jitter() -> None:
    rng = random.Random(1)
    lo, hi = timedelta(minutes=1), timedelta(hours=4)
    delays = [backoff(n, minimum=lo, maximum=hi, rng=rng) for n in range(1, 9)]
    assert lo <= delays[0] <= timedelta(seconds=75)
    assert timedelta(minutes=3) <= delays[1] <= timedelta(minutes=5)
    assert all(d <= hi for d in delays)
    assert delays[-1] >= timedelta(hours=3)
    assert len({backoff(3, minimum=lo, maximum=hi) for _ in range(20)}) > 1  # jittered


def test_prepare_normalises_and_dot_stuffs_once() -> None:
    raw = b".first\nSubject: x\r\n\r\n.dot\r\n..two\r\nend"
    data = prepare(raw)
    assert data == b"..first\r\nSubject: x\r\n\r\n..dot\r\n...two\r\nend\r\n"
    assert unstuff(data) == b".first\r\nSubject: x\r\n\r\n.dot\r\n..two\r\nend\r\n"


def test_template_splice_matches_plain_substitution() -> None:
    body = b"To: %%TO%%\r\nMessage-ID: %%MESSAGE_ID%%\r\n\r\n%%NAME%% %%NAME%% %%UNKNOWN%%\r\n"
    item = claimed_item(**{"%%TO%%": "a@b.kr", "%%NAME%%": "독자"})
    assert Template(body).fill(item) == personalise(body, item)
    assert Template(body).fill(item).startswith(b"To: a@b.kr\r\nMessage-ID: <m1@news.example.kr>")


def test_line_break_in_a_value_is_refused() -> None:
    item = claimed_item(**{"%%TO%%": "a@b.kr\r\nBcc: x@y.kr"})
    with pytest.raises(ValueError, match="%%TO%%"):
        Template(b"To: %%TO%%\r\n").fill(item)
