"""What a user reads when the CLI is given bad input: one `error:` line, the right exit code.

Also the subscriber commands' update rules: `add` changes only what it is given, and an
import never re-subscribes someone who unsubscribed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.consent.record import Act
from publisher.readers.signup import unsubscribe_id
from publisher.store import subscribers as store_subscribers
from publisher.store.db import make_engine
from tests.conftest import ROOT
from tests.digestkit import NOW, SCHEDULES, cli_store

AT = NOW.isoformat()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_store(tmp_path, monkeypatch)


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_error(err: str) -> str:
    """The single `error:` line a failed command printed (and no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def subscriber_rows() -> list[str]:
    return cli("subscribers", "list")[1].strip().splitlines()[:-1]  # without "N shown"


# --- 1. messages are printed as written, not as Rich markup --------------------------------


def test_config_error_keeps_the_regex_it_quotes(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCHEDULES.replace("id: morning", "id: Morning_Brief"), encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(bad))
    code, _, err = cli("digest", "run", "morning")
    assert code == 2
    assert one_error(err) == (
        "error: bad.yaml: digests[0].id: String should match pattern '^[a-z0-9][a-z0-9-]*$'"
    )


def test_user_text_with_brackets_is_shown_as_typed(env: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subs.csv"
    subs.write_text("email,sections\nkim@example.kr,[bold]politics\n", encoding="utf-8")
    code, out, _ = cli("subscribers", "import", str(subs))
    assert code == 1
    assert f"rejected {subs}:line 2: sections: not a section slug: '[bold]politics'" in out

    assert cli("suppressions", "add", "[b]kim@example.kr", "--reason", "[i]manual")[0] == 0
    out = cli("suppressions", "list")[1]
    assert out.split()[:3] == ["[b]kim@example.kr", "all", "[i]manual"]


# --- 3. unwritable and undecodable files ---------------------------------------------------


@pytest.mark.parametrize("option", ["--html", "--eml"])
def test_preview_to_an_unwritable_path(env: Path, tmp_path: Path, option: str) -> None:
    target = tmp_path / "no-such-dir" / "preview.out"
    code, _, err = cli("digest", "preview", "morning", "--at", AT, option, str(target))
    assert code == 2
    assert one_error(err) == f"error: {option}: cannot write {target}: No such file or directory"


def test_export_to_an_unwritable_path(env: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "subs.csv"
    code, _, err = cli("subscribers", "export", "-o", str(target))
    assert code == 2
    assert one_error(err) == f"error: --output: cannot write {target}: No such file or directory"


def test_suppressions_import_of_a_file_that_is_not_utf8(env: Path, tmp_path: Path) -> None:
    listing = tmp_path / "latin1.txt"
    listing.write_bytes(b"a@example.kr\nb\xe9@example.kr\n")  # Latin-1 "é"
    code, _, err = cli("suppressions", "import", str(listing))
    assert code == 2
    assert one_error(err) == (
        f"error: {listing}:2: not UTF-8 text (byte 0xe9 at offset 14); nothing was imported"
    )
    assert cli("suppressions", "list")[1].strip() == "0 suppressed"


def test_suppressions_import_skips_a_byte_order_mark(env: Path, tmp_path: Path) -> None:
    listing = tmp_path / "excel.csv"
    listing.write_bytes("\ufeffemail\nkim@example.kr\n".encode())
    assert cli("suppressions", "import", str(listing))[:2] == (0, "1 added, 0 already suppressed\n")
    assert cli("suppressions", "list")[1].split()[0] == "kim@example.kr"


def test_subscribers_import_of_a_file_that_is_not_utf8(env: Path, tmp_path: Path) -> None:
    subs = tmp_path / "bin.csv"
    subs.write_bytes(b"email,name\nkim@example.kr,Kim\nlee@example.kr,\xff\xfe\n")
    code, out, err = cli("subscribers", "import", str(subs))
    assert code == 2 and out == ""
    assert one_error(err) == (
        f"error: {subs}:line 3: not UTF-8 text (byte 0xff at offset 45); nothing was imported"
    )
    assert subscriber_rows() == []  # not even the good first row


# --- 4. no secret_key: every digest command refuses with exit 2 ----------------------------


@pytest.mark.parametrize(
    "args",
    [("preview", "morning"), ("run", "morning"), ("test", "morning", "--to", "ed@example.kr")],
)
def test_digest_commands_without_secret_key_exit_2(
    env: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.delenv("PUBLISHER_SECRET_KEY")
    code, _, err = cli("digest", *args, "--at", AT)
    assert code == 2
    assert one_error(err).startswith("error: secret_key: required")


# --- 5. `subscribers add` on an existing subscriber ----------------------------------------


def test_add_changes_only_the_options_given(env: Path) -> None:
    args = ["--name", "김민수", "--sections", "politics;economy", "--frequency", "weekly"]
    assert cli("subscribers", "add", "kim@example.kr", *args)[:2] == (0, "added: kim@example.kr\n")
    assert cli("subscribers", "add", "kim@example.kr", "--name", "Minsu Kim")[0] == 0
    assert subscriber_rows() == ["kim@example.kr\tMinsu Kim\tweekly\tconfirmed\teconomy;politics"]

    assert cli("subscribers", "add", "kim@example.kr", "--sections", "")[0] == 0  # all, explicitly
    assert cli("subscribers", "add", "kim@example.kr", "--status", "pending")[0] == 0
    assert subscriber_rows() == ["kim@example.kr\tMinsu Kim\tweekly\tpending\t(all)"]
    code, out, _ = cli("subscribers", "add", "kim@example.kr", "--frequency", "weekly")
    assert (code, out) == (0, "unchanged: kim@example.kr\n")

    assert cli("subscribers", "add", "lee@example.kr")[0] == 0  # a new one gets the defaults
    assert "lee@example.kr\t\tdaily\tconfirmed\t(all)" in subscriber_rows()


def test_add_with_a_name_leaves_an_unsubscribed_subscriber_unsubscribed(env: Path) -> None:
    assert cli("subscribers", "add", "kim@example.kr")[0] == 0
    unsubscribe(env, "kim@example.kr")
    assert cli("subscribers", "add", "kim@example.kr", "--name", "Kim")[0] == 0
    assert subscriber_rows() == ["kim@example.kr\tKim\tdaily\tunsubscribed\t(all)"]


# --- 6. bad option values are refused, not silently accepted -------------------------------


def test_history_of_an_unknown_digest(env: Path) -> None:
    code, out, err = cli("digest", "history", "nope")
    assert code == 2 and out == ""
    assert one_error(err).startswith("error: no digest 'nope' in ")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("digest", "history", "morning", "--limit", "0"), "Invalid value for '--limit'"),
        (("subscribers", "list", "--limit", "0"), "Invalid value for '--limit'"),
    ],
)
def test_typer_refuses_out_of_range_options(env: Path, args: tuple[str, ...], says: str) -> None:
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert says in err


def test_list_of_an_unknown_status(env: Path) -> None:
    code, out, err = cli("subscribers", "list", "--status", "bogus")
    assert code == 2 and out == ""
    assert one_error(err) == (
        "error: --status: must be one of pending, confirmed, unsubscribed, got 'bogus'"
    )


def test_status_filter_lists_unsubscribed(env: Path) -> None:
    cli("subscribers", "add", "kim@example.kr")
    cli("subscribers", "add", "lee@example.kr")
    unsubscribe(env, "lee@example.kr")
    out = cli("subscribers", "list", "--status", "unsubscribed")[1]
    assert out.splitlines() == ["lee@example.kr\t\tdaily\tunsubscribed\t(all)", "1 shown"]


def test_retry_of_an_unknown_kind(env: Path) -> None:
    code, out, err = cli("outbox", "retry", "--failed", "--kind", "bogus")
    assert code == 2 and out == ""
    line = one_error(err)
    assert line.startswith("error: --kind: must be one of ") and "digest" in line
    assert line.endswith(", got 'bogus'")


@pytest.mark.parametrize("value", ["-5", "0", "nan"])
def test_deliver_needs_a_positive_max_seconds(env: Path, value: str) -> None:
    code, out, err = cli("deliver", "--max-seconds", value)
    assert code == 2 and out == ""
    assert one_error(err).startswith("error: --max-seconds: must be greater than 0, got ")


# --- 7. an import never re-subscribes someone who unsubscribed -----------------------------


def test_reimport_does_not_resurrect_an_unsubscribed_subscriber(env: Path) -> None:
    samples = str(ROOT / "samples" / "subscribers.csv")
    code, out, _ = cli("subscribers", "import", samples)
    assert code == 0 and out.startswith("added 3, updated 0, unchanged 0")
    unsubscribe(env, "junho.park@example.kr")

    code, out, _ = cli("subscribers", "import", samples)
    assert (code, out) == (0, "added 0, updated 0, unchanged 3, rejected 0\n")
    listed = cli("subscribers", "list", "--status", "unsubscribed")[1].splitlines()
    assert listed[0].startswith("junho.park@example.kr\t박준호\tdaily\tunsubscribed\t")


def unsubscribe(db: Path, email: str) -> None:
    """The reader's own unsubscribe (the /u/{token} page does the same)."""
    eng = make_engine(f"sqlite:///{db}")
    with eng.connect() as conn:
        who = store_subscribers.get_by_email(conn, email)
    assert who is not None
    unsubscribe_id(eng, who.id, now=NOW, act=Act("cli", "k"))
    eng.dispose()
