"""SpamAssassin scores the digest, confirmation and share emails offline, each below 1.0."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.core.config import Settings
from tests.emailkit import confirm_message, digest_messages, share_message

SPAMASSASSIN = shutil.which("spamassassin")
FORBIDDEN = re.compile(
    r"^(MISSING_DATE|MISSING_MID|INVALID_MSGID|MIME_HTML_ONLY|MPART_ALT_DIFF\w*|HTML_IMAGE_ONLY_\w+)$"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SPAMASSASSIN is None,
        reason="spamassassin not installed (apt-get install spamassassin; .ci/run does)",
    ),
]


def _score(message: bytes, home: Path) -> tuple[float, set[str]]:
    assert SPAMASSASSIN is not None
    out = subprocess.run(
        [SPAMASSASSIN, "-L", "-t", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"],
        input=message, capture_output=True, timeout=180, check=True,
        env={**os.environ, "HOME": str(home)},
    ).stdout.decode("utf-8", "replace")  # fmt: skip
    m = re.search(r"Content analysis details:\s+\((-?[\d.]+) points", out)
    assert m, out[-2000:]
    table = out[m.end() :]
    rules = set(re.findall(r"^\s*-?[\d.]+\s+([A-Z0-9_]+)\s", table, re.M))
    return float(m.group(1)), rules


def test_every_kind_scores_low(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    s = settings.model_copy(update={"postal_address": "04524 서울특별시 중구 세종대로 1"})
    digests = digest_messages(engine, s)
    messages = {
        "digest (sections)": digests["minsu.kim@example.kr"],
        "digest (all)": digests["reader@xn--xx3br43b.kr"],
        "confirmation": confirm_message(s),
        "share": share_message(s),
    }
    for name, raw in messages.items():
        score, rules = _score(raw, tmp_path)
        assert score < 1.0, (name, score, sorted(rules))
        assert not {r for r in rules if FORBIDDEN.match(r)}, (name, sorted(rules))
