"""`python -m kiosk residents ...` (kiosk.residents.residents_main) on a real config and database: what a
building manager or technician sees, and the exit status a script can rely on."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from directory_rig import T0, deposit_for, open_store, write_config

from kiosk.residents import residents_main

GOOD = "name;unit;email;language\nAnna Müller;3B;anna@example.de;de\nBob Smith;10;bob@example.com;\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = residents_main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def csv_file(folder: Path, text: str) -> Path:
    path = folder / "residents.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_list_and_find(tmp_path: Path, config: Path) -> None:
    path = csv_file(tmp_path, GOOD)
    assert run("--config", str(config), "import", str(path)) == (
        0, f"{path}: 2 added, 0 updated, 0 unchanged, 0 removed\n", "")
    assert run("--config", str(config), "import", str(path)) == (
        0, f"{path}: 0 added, 0 updated, 2 unchanged, 0 removed (nothing changed)\n", "")
    status, out, _ = run("--config", str(config), "list")
    assert status == 0
    assert out.splitlines() == ["    1  3B       Anna Müller <anna@example.de> (de)",
                                "    2  10       Bob Smith <bob@example.com> (default language)",
                                "2 residents"]
    assert run("--config", str(config), "find", "mül")[:2] == (
        0, "    1  3B       Anna Müller <anna@example.de> (de)\n")
    assert run("--config", str(config), "find", "zed") == (1, "", "nobody's name or unit contains 'zed'\n")


def test_a_bad_file_is_refused_with_a_line_by_line_report(tmp_path: Path, config: Path) -> None:
    path = csv_file(tmp_path,
                    "name,unit,email\nAnna,1,anna@example\n\nBob,,bob@example.com\nCid,3,c@example.de\n")
    status, out, err = run("--config", str(config), "import", str(path))
    assert status == 1 and out == ""
    assert err.splitlines() == [
        f"{path}:2: email 'anna@example' is not an e-mail address: the domain 'example' has no dot",
        f"{path}:4: unit is empty",
        f"{path}: 2 bad lines: nothing imported (fix them, or import the good lines with --skip-bad)"]
    with open_store(tmp_path / "kiosk.sqlite") as store:
        assert store.residents() == []
    status, out, err = run("--config", str(config), "import", str(path), "--skip-bad")
    assert status == 0
    assert out == f"{path}: 1 added, 0 updated, 0 unchanged, 0 removed, 2 bad lines skipped\n"


def test_kept_residents_and_held_mails_are_reported(tmp_path: Path, config: Path) -> None:
    run("--config", str(config), "import", str(csv_file(tmp_path, GOOD)))
    with open_store(tmp_path / "kiosk.sqlite") as store:
        mail_id = deposit_for(store, 2, "P-7", "01")
        store.mail_failed(mail_id, "550 5.1.1 <bob@example.com>: no such user", None, at=T0)
    status, out, _ = run("--config", str(config), "import",
                         str(csv_file(tmp_path, "name;unit;email\nAnna Müller;3B;anna@example.de\n")))
    assert status == 0
    assert out.splitlines()[1] == ("kept (a parcel of theirs is in the locker):     2  10       Bob Smith "
                                   "<bob@example.com> (default language, inactive)")
    assert run("--config", str(config), "mail")[1].splitlines() == [
        "1 mails waiting, 1 of them refused by the server",
        f"mail {mail_id}: parcel P-7 for Bob Smith <bob@example.com>, 1 attempts: 550 5.1.1 "
        "<bob@example.com>: no such user"]
    assert run("--config", str(config), "mail-retry", str(mail_id)) == (
        0, f"mail {mail_id} will be sent again\n", "")
    assert run("--config", str(config), "mail-retry", str(mail_id)) == (
        1, "", f"no refused mail {mail_id} (see: kiosk residents mail)\n")


def test_errors_are_one_line_and_exit_2(tmp_path: Path, config: Path) -> None:
    missing = tmp_path / "missing.csv"
    assert run("--config", str(config), "import", str(missing)) == (
        2, "", f"kiosk residents: {missing}: file not found\n")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"PK\x03\x04" + bytes(100))
    assert run("--config", str(config), "import", str(garbage)) == (
        2, "", f"kiosk residents: {garbage}: this is an Excel workbook (.xlsx) or another zip file, not CSV: "
               "save it as \"CSV UTF-8\"\n")
    status, _, err = run("--config", str(tmp_path / "nope.toml"), "list")
    assert (status, err) == (2, f"kiosk residents: {tmp_path / 'nope.toml'}: file not found\n")
    assert run("--config", str(config), "import", str(csv_file(tmp_path, "name,unit,email\n")))[0] == 2


def test_usage_errors_exit_2(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert residents_main(["--config", str(config)]) == 2
    assert residents_main(["--config", str(config), "mail-retry", "one"]) == 2
    assert "invalid int value" in capsys.readouterr().err
    assert residents_main(["--help"]) == 0


def test_it_runs_as_a_program(tmp_path: Path, config: Path) -> None:
    """The pieces the lead wires into `python -m kiosk residents`, run in a process of their own."""
    path = csv_file(tmp_path, GOOD)
    finished = subprocess.run(
        [sys.executable, "-c", "import sys; from kiosk.residents import residents_main; "
                               "sys.exit(residents_main(sys.argv[1:]))", "--config", str(config), "import",
         str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert (finished.returncode, finished.stdout, finished.stderr) == (
        0, f"{path}: 2 added, 0 updated, 0 unchanged, 0 removed\n", "")
