"""The package layers: checked by import-linter, and what a user of a pipeline package loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from publisher.core import schedules as model
from publisher.daemon import scheduler

ROOT = Path(__file__).resolve().parents[1]

# Every pipeline package, imported in a fresh interpreter.
PIPELINE = (
    "publisher.intake.polling", "publisher.intake.batch", "publisher.feeds.publish",
    "publisher.digests.pipeline", "publisher.render.templates", "publisher.messages.fanout",
    "publisher.delivery.drain", "publisher.readers.signup", "publisher.readers.sharing",
)  # fmt: skip


def test_the_contracts_in_pyproject_hold() -> None:
    pytest.importorskip("importlinter")
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_pipeline_packages_load_neither_the_scheduler_nor_the_web_server() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in PIPELINE)
        + "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'apscheduler', 'uvicorn', 'fastapi', 'typer'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_the_schedules_model_checks_cron_only_with_the_daemons_triggers() -> None:
    text = 'digests:\n  - {id: a, name: A, cron: "61 * * * *"}\n'
    unchecked = model.parse_schedules(text)  # the model alone cannot read a crontab
    with pytest.raises(RuntimeError, match="trigger factory"):
        unchecked.digests[0].trigger(unchecked.tz)
    with pytest.raises(ValueError, match=r"digests\[0\]\.cron"):
        scheduler.parse_schedules(text)


def test_every_timing_of_a_parsed_file_has_its_trigger() -> None:
    s = scheduler.parse_schedules('digests:\n  - {id: a, name: A, at: "07:00"}\n')
    timings = [*s.digests, s.jobs.collect, s.jobs.feeds, s.jobs.deliver, s.jobs.cleanup]
    for timing in timings:
        assert timing.trigger(s.tz) is not None
    # Each parse has its own job defaults: binding one file's factory touches no other.
    assert model.parse_schedules("{}").jobs.collect is not s.jobs.collect


# No module over 400 lines; no function over 60 lines, except route tables (`router()` and
# `_*_routes()` in publisher/web, which declare routes) and migrations (generated, run once).
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def _route_table(rel: str, name: str) -> bool:
    return rel.startswith("publisher/web/") and (name == "router" or name.endswith("_routes"))


def _oversized() -> list[str]:
    found: list[str] = []
    package = ROOT / "publisher"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/migrations/" in rel:
            continue
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{rel}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if _route_table(rel, node.name):
                continue  # its handlers (nested functions) are still measured
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{rel}:{node.lineno} {node.name}(): {length} lines")
    return found


def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    found = _oversized()
    assert not found, "split these:\n" + "\n".join(found)
