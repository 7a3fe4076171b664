"""The intake CLI end to end through Typer's runner: exit codes and what a user reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'p.db'}")
    monkeypatch.setenv("PUBLISHER_DEMO", "true")
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(ROOT / "schedules.yaml"))
    return tmp_path


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_samples_list_and_rank(env: Path) -> None:
    code, out, _ = cli("articles", "import", str(SAMPLES / "articles.jsonl"))
    assert code == 0
    assert "added 40, updated 0, unchanged 0, rejected 0" in out
    code, out, _ = cli("articles", "import", str(SAMPLES / "articles.jsonl"))
    assert (code, out.strip()) == (0, "added 0, updated 0, unchanged 40, rejected 0")

    code, out, _ = cli("articles", "list", "--section", "politics", "--limit", "3")
    rows = out.strip().splitlines()
    assert code == 0 and len(rows) == 3
    assert all("  politics  " in r for r in rows)
    assert rows[0] > rows[1]  # newest first (rows start with the published time)

    code, out, _ = cli("views", "import", str(SAMPLES / "views.jsonl"))
    # The samples are dated 2026-11-22/23 and the CLI runs on the system clock: a century-long
    # window keeps this test independent of the day it runs.
    assert code == 0 and "rejected 0" in out
    code, out, _ = cli("views", "top", "--window", "36500d", "--limit", "5")
    assert code == 0
    rows = out.strip().splitlines()
    assert [r.split()[0] for r in rows] == ["1", "2", "3", "4", "5"]
    views = [int(r.split()[-1].replace(",", "")) for r in rows]
    assert views == sorted(views, reverse=True) and views[0] > 0

    top_id = rows[0].split()[1]
    assert cli("articles", "retract", top_id)[:2] == (0, f"retracted {top_id}\n")
    code, out, _ = cli("views", "top", "--window", "36500d", "--limit", "5")
    assert top_id not in out
    assert top_id not in cli("articles", "list", "--limit", "100")[1]
    assert f"{top_id}" in cli("articles", "list", "--limit", "100", "--retracted")[1]
    assert "[retracted]" in cli("articles", "list", "--limit", "100", "--retracted")[1]
    code, out, _ = cli("views", "top", "--window", "36500d", "--section", "culture")
    assert code == 0 and len(out.strip().splitlines()) == 5
    code, out, _ = cli("views", "top", "--window", "36500d", "--section", "culture", "--limit=50")
    assert code == 0 and len(out.strip().splitlines()) == 8


def test_rejections_reported_with_line_field_and_reason(env: Path) -> None:
    bad = env / "bad.jsonl"
    good = {"id": "x1", "url": "https://news.example.kr/a/1", "title": "제목",
            "published_at": "2026-11-23T09:30:00+09:00"}  # fmt: skip
    bad.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "id": "x2", "url": "javascript:x"}) + "\n"
        + json.dumps({**good, "title": "다시"}) + "\n" + "[]\n",
        "utf-8",
    )  # fmt: skip
    code, out, err = cli("articles", "import", str(bad))
    assert code == 1
    assert "added 1, updated 0, unchanged 0, rejected 2" in out
    assert "rejected: line 2: url: must be an absolute http(s) URL" in err
    assert "rejected: line 4: expected a JSON object, got an array" in err
    assert "warning: line 3: id: duplicate of line 1 (x1); the later one wins" in err


def test_csv_without_required_column_imports_nothing(env: Path) -> None:
    f = env / "a.csv"
    f.write_text("id,title,published_at\nx1,t,2026-11-23T09:30:00Z\n", "utf-8")
    code, _, err = cli("articles", "import", str(f))
    assert code == 1
    assert "lacks required column(s): url" in err
    assert cli("articles", "list")[1] == ""


def test_format_flag_and_usage_errors(env: Path) -> None:
    f = env / "export.txt"
    f.write_text('[{"id": "x1", "url": "https://news.example.kr/a", "title": "t", '
                 '"published_at": "2026-11-23T09:30:00Z"}]', "utf-8")  # fmt: skip
    assert cli("articles", "import", str(f))[0] == 2
    assert cli("articles", "import", "--format", "json", str(f))[0] == 0
    code, _, err = cli("articles", "import", str(env / "missing.jsonl"))
    assert code == 2 and "missing.jsonl" in err
    code, _, err = cli("views", "top", "--window", "yesterday")
    assert code == 2 and "--window" in err
    code, _, err = cli("articles", "retract", "nope")
    assert code == 1 and "no article with id 'nope'" in err


def test_unwritable_database_path(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = env / "not-a-dir"
    blocker.write_text("", "utf-8")
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{blocker / 'p.db'}")
    code, _, err = cli("articles", "import", str(SAMPLES / "articles.jsonl"))
    assert code == 2
    assert "database_url: cannot write" in err and "not-a-dir" in err


@pytest.mark.parametrize(
    ("url", "reason"),
    [("sqlite:///{env}/notes.txt", "file is not a database"),
     ("postgresql://nobody@127.0.0.1:1/db", "Connection refused")],
    ids=["not a database file", "no server"],
)  # fmt: skip
def test_a_database_that_cannot_be_opened(
    env: Path, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    (env / "notes.txt").write_text("not a database, just notes\n" * 100, "utf-8")
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url.format(env=env))
    for command in (["init"], ["articles", "import", str(SAMPLES / "articles.jsonl")]):
        code, _, err = cli(*command)
        assert code == 2 and "Traceback" not in err
        assert "database_url: cannot open the database" in err and reason in err


def test_urls_addresses_and_dates_in_settings_are_checked(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_SITE_URL", "news.example.kr")
    monkeypatch.setenv("PUBLISHER_PUBLIC_BASE_URL", "javascript:alert(1)")
    monkeypatch.setenv("PUBLISHER_FROM_ADDRESS", "news-at-example.kr")
    monkeypatch.setenv("PUBLISHER_REPLY_TO", "desk@news.example.kr")
    monkeypatch.setenv("PUBLISHER_FEED_TAG_DATE", "2026-13")  # right shape, no such month
    code, _, err = cli("check")
    assert code == 2
    for key in ("site_url", "public_base_url", "from_address", "feed_tag_date"):
        assert f"PUBLISHER_{key.upper()}: {key}:" in err
    assert "reply_to" not in err


def test_config_file_unknown_key_and_wrong_type(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = env / "publisher.toml"
    toml.write_text('site_nmae = "오타"\nweb_port = "eighty"\n', "utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(toml))
    code, _, err = cli("articles", "list")
    assert code == 2
    assert "site_nmae: unknown setting" in err and "web_port" in err


def test_check_reports_every_problem_with_its_key_path(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedules = env / "schedules.yaml"
    schedules.write_text(
        "digests:\n  - id: morning\n    name: x\n    cron: '0 7 * *'\n"
        "  - id: Bad Id\n    name: y\n    every: 1h\n    max_itmes: 3\n",
        "utf-8",
    )
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(schedules))
    monkeypatch.setenv("PUBLISHER_DEMO", "false")
    code, _, err = cli("check")
    assert code == 2
    assert "secret_key" in err
    assert "digests[0].cron" in err
    assert "digests[1].id" in err and "digests[1].max_itmes" in err
    monkeypatch.setenv("PUBLISHER_DEMO", "true")
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(ROOT / "schedules.yaml"))
    assert cli("check") == (0, "configuration OK\n", "")


def test_check_goes_on_when_the_settings_themselves_fail(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedules = env / "schedules.yaml"
    schedules.write_text("digests:\n  - id: m\n    name: x\n    cron: '99 7 * * *'\n", "utf-8")
    broken = env / "site.toml"
    broken.write_text("site_name = \n", "utf-8")
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(schedules))
    monkeypatch.setenv("PUBLISHER_CONFIG", str(broken))
    monkeypatch.setenv("PUBLISHER_WEB_PORT", "y")
    monkeypatch.setenv("PUBLISHER_WEBSUB_HUBS", "https://hub.example/")  # not JSON
    code, _, err = cli("check")
    assert code == 2 and "Traceback" not in err
    assert f"{broken}: not valid TOML" in err
    assert "PUBLISHER_WEBSUB_HUBS: not valid JSON" in err
    assert "digests[0].cron" in err  # schedules.yaml is checked all the same
    monkeypatch.delenv("PUBLISHER_WEBSUB_HUBS")
    code, _, err = cli("check")
    assert "PUBLISHER_WEB_PORT: web_port" in err  # the environment is checked without the file


def _dying_chunk(payloads: list[object], tz: object) -> list[object]:
    import os

    os._exit(1)  # what the kernel's OOM killer looks like from the parent


def test_a_worker_that_dies_gets_a_clear_error(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import publisher.intake.workers as parallel

    monkeypatch.setattr(parallel, "_prepare_chunk", _dying_chunk)
    code, _, err = cli("articles", "import", "--workers", "2", str(SAMPLES / "articles.jsonl"))
    assert code == 1
    assert "a worker process died" in err and "--workers 0" in err
    assert "Traceback" not in err


def test_a_retraction_holds_until_the_cms_sends_a_new_version(env: Path) -> None:
    def version(title: str) -> str:
        path = env / "one.jsonl"
        path.write_text(json.dumps({
            "id": "r-1", "url": "https://news.example.kr/a/r-1", "title": title,
            "published_at": "2026-11-23T09:30:00+09:00",
        }, ensure_ascii=False) + "\n", "utf-8")  # fmt: skip
        return str(path)

    def listed() -> bool:
        return "r-1" in cli("articles", "list")[1]

    assert cli("articles", "import", version("처음"))[0] == 0
    assert cli("articles", "retract", "r-1")[:2] == (0, "retracted r-1\n")
    # A source polled every few minutes sends the same version again: the retraction holds.
    assert "unchanged 1" in cli("articles", "import", version("처음"))[1]
    assert not listed()
    assert cli("articles", "retract", "--undo", "r-1")[:2] == (0, "published again r-1\n")
    assert listed()
    cli("articles", "retract", "r-1")
    # A corrected version carries the CMS's status (published) again.
    assert "updated 1" in cli("articles", "import", version("정정"))[1]
    assert listed()
