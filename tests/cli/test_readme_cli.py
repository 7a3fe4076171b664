"""The README's CLI reference documents every command and option that `--help` shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from publisher.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    if hasattr(cmd, "commands"):  # a group (Typer ships its own copy of click)
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), cmd


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _cli_reference() -> str:
    text = README.read_text("utf-8")
    start = text.index("## CLI reference")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_documented_with_its_options(name: str) -> None:
    result = CliRunner().invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    reference = _cli_reference()
    assert f"`publisher {name}" in reference, f"README CLI reference lacks `publisher {name}`"
    for param in COMMANDS[name].params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt != "--help":
                assert opt in reference, f"README CLI reference lacks {opt} of `publisher {name}`"
