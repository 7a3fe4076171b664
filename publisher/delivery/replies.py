"""Replies that speak for every message: the drain pauses instead of blaming recipients.

Three watches, each pausing the run (``Report.paused``) and naming why in one log line
marked ``STOP_REASON``: the circuit breaker (policy or reputation refusals among the last
replies), the return path refused (one MAIL FROM refusal stands for every message), and one
hard-bounce text repeated for many different recipients (a refusal of us worded as a bounce).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from publisher.delivery.drainstore import DeliverConfig, Report
from publisher.delivery.smtpwire import Failed, Outcome, RetryAt, Sent
from publisher.messages.enqueue import Claimed

log = logging.getLogger("publisher.delivery.drain")
# Marks the log line that says why a run stopped on its own. The same reason is in the
# Report; `publisher deliver` prints it as its one last line and drops these records.
STOP_REASON = {"stop_reason": True}
_BREAKER_WINDOW = 50
_NONE: frozenset[int] = frozenset()  # no ids retaken (one object, not a set per reply)


def outcome_name(outcome: Outcome) -> str:
    """sent, deferred or failed (for on_message, e.g. metrics)."""
    return (
        "sent"
        if isinstance(outcome, Sent)
        else "failed"
        if isinstance(outcome, Failed)
        else "deferred"
    )


class ReplyWatch:
    def __init__(self, config: DeliverConfig, report: Report, stop: Callable[[], None]) -> None:
        self.config, self.report, self._stop = config, report, stop
        self._policy: deque[bool] = deque(maxlen=_BREAKER_WINDOW)
        self._bounces: dict[str, int] = {}  # the current run of identical hard bounces
        self._bounce_text = ""

    def same_bounces(self, item: Claimed, outcome: Outcome) -> tuple[Outcome, AbstractSet[int]]:
        """Watch for one hard-bounce text repeated for many recipients; past the limit, pause
        and take back the suppressions not yet written down (and any that follow).

        Returns the outcome to record, and the ids whose held ``Failed`` outcomes become
        ``RetryAt(sender=True)`` (empty unless this reply tripped the watch).

        Real bounces quote the mailbox or a queue id, so their texts differ; a relay refusing
        our return path with a wording ``classify`` does not know says the same thing to
        everyone. Sent mail ends a run of bounces; deferrals do not.
        """
        if isinstance(outcome, Sent):
            self._bounces.clear()
            return outcome, _NONE
        if not (isinstance(outcome, Failed) and outcome.hard_bounce):
            return outcome, _NONE
        if self.report.same_bounces is not None:
            return RetryAt(outcome.reply, sender=True), _NONE  # no attempt used, nobody suppressed
        if outcome.reply != self._bounce_text:
            self._bounce_text, self._bounces = outcome.reply, {}
        self._bounces[item.recipient.lower()] = item.id
        if len(self._bounces) <= self.config.same_bounce_limit:
            return outcome, _NONE
        self.report.same_bounces = self.report.paused = outcome.reply
        log.error(
            "%d hard bounces in a row with the same reply, for different recipients: this "
            "looks like a refusal of the return path <%s>, not of the recipients; pausing "
            "delivery, nobody more is suppressed (check `publisher suppressions` for the "
            "addresses bounced before this). Reply: %s",
            len(self._bounces), self.config.sender, outcome.reply, extra=STOP_REASON,
        )  # fmt: skip
        self._stop()
        return RetryAt(outcome.reply, sender=True), set(self._bounces.values())

    def judge(self, outcome: Outcome) -> None:
        """The return-path and circuit-breaker watches, after the outcome is counted."""
        if isinstance(outcome, RetryAt) and outcome.sender and self.report.same_bounces is None:
            self._sender_refused(outcome.reply)
        policy = isinstance(outcome, RetryAt) and outcome.policy
        self._policy.append(policy)
        if policy and sum(self._policy) >= self.config.breaker_threshold and not self.report.paused:
            self.report.paused = outcome.reply
            log.critical(
                "CIRCUIT BREAKER: %d policy/reputation refusals in the last %d replies, "
                "pausing delivery; nobody was suppressed. Last reply: %s",
                sum(self._policy), len(self._policy), outcome.reply, extra=STOP_REASON,
            )  # fmt: skip
            self._stop()

    def _sender_refused(self, reply: str) -> None:
        """One refusal of the return path stands for every message: pause, blame nobody."""
        if self.report.sender_refused is None:
            self.report.sender_refused = self.report.paused = reply
            log.error(
                "the relay refuses the return path <%s> (delivery_return_path or from_address): "
                "%s; pausing delivery, nobody was failed or suppressed, rows stay queued",
                self.config.sender, reply, extra=STOP_REASON,
            )  # fmt: skip
        self._stop()
