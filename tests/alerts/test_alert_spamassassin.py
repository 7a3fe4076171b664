"""SpamAssassin scores the breaking-news alert offline below 1.0, as the other kinds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.alerts import send as alerts
from publisher.core.config import Settings
from tests.digestkit import NOW, load_store
from tests.messages.test_spamassassin import FORBIDDEN, SPAMASSASSIN, _score

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SPAMASSASSIN is None,
        reason="spamassassin not installed (apt-get install spamassassin; .ci/run does)",
    ),
]


def test_alert_scores_low(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    load_store(engine)
    s = settings.model_copy(update={"postal_address": "04524 서울특별시 중구 세종대로 1"})
    eml = alerts.preview(engine, s, "a0002", now=NOW).eml
    score, rules = _score(eml, tmp_path)
    assert score < 1.0, (score, sorted(rules))
    assert not {r for r in rules if FORBIDDEN.match(r)}, sorted(rules)
