"""A second engine on one SQLite file must not break the first one's view of the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from publisher.store.db import make_engine

_WRITER = """
import sys
from sqlalchemy import text
from publisher.store.db import make_engine
eng = make_engine(sys.argv[1])
with eng.begin() as conn:
    conn.execute(text("INSERT INTO t VALUES (1)"))
eng.dispose()
"""


def test_second_engine_keeps_the_first_engines_locks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = make_engine(url)
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with first.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    # The pooled connection stays open (in WAL mode it holds a shared lock on the file).
    make_engine(url).dispose()  # what a second component of the same process does
    for expected in (1, 2):
        subprocess.run([sys.executable, "-c", _WRITER, url], check=True, timeout=60)
        with first.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == expected
    first.dispose()
