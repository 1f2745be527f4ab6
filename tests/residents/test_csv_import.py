"""The CSV import (kiosk.residents) on files as building managers export them: every separator, encoding
and spreadsheet habit that is fine is read; every bad line is reported with its number and what is wrong,
and refuses the import unless --skip-bad; a file that is no directory at all is one clear line."""

from __future__ import annotations

import csv
import io
import os
import random
import time
from pathlib import Path

import pytest
from directory_rig import T0, DirectoryStore, deposit_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.residents import (
    MAX_FILE_BYTES,
    DirectoryError,
    LineProblem,
    import_residents,
    parse_directory,
    read_directory,
)
from kiosk.store.residents import ResidentRow, resident_row_problem


def rows_of(data: bytes) -> list[tuple[str, str, str, str | None, str | None, int | None]]:
    return [(r.name, r.unit, r.email, r.language, r.phone, r.line) for r in parse_directory(data).rows]


def problems_of(data: bytes) -> list[str]:
    return [str(problem) for problem in parse_directory(data).problems]


def write(folder: Path, text: str | bytes, name: str = "residents.csv") -> Path:
    path = folder / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


GOOD = ("name,unit,email,language,phone\n"
        "Anna Müller,3B,anna@example.de,de,+49 30 1234\n"
        "Bob Smith,10,bob@example.com,,\n")


# what is read -------------------------------------------------------------------------------------------

def test_a_plain_export() -> None:
    assert rows_of(GOOD.encode()) == [("Anna Müller", "3B", "anna@example.de", "de", "+49 30 1234", 2),
                                      ("Bob Smith", "10", "bob@example.com", None, None, 3)]


def test_a_german_excel_export_with_bom_semicolons_crlf_and_quotes() -> None:
    text = ("\ufeffName;Wohnung;E-Mail;Sprache;Telefon\r\n"
            "\"Müller; Anna\";3B;anna@example.de;Deutsch;030 1234\r\n"
            "\r\n"
            ";;;;\r\n"
            "\"Smith, \"\"Bob\"\"\";  10 ;  bob@example.com ;EN;\r\n")
    assert rows_of(text.encode("utf-8")) == [
        ("Müller; Anna", "3B", "anna@example.de", "de", "030 1234", 2),
        ("Smith, \"Bob\"", "10", "bob@example.com", "en", None, 5)]


def test_columns_in_any_order_first_and_last_names_and_ignored_columns() -> None:
    text = ("Residents of Hauptstr. 5, exported 2026-05-01\n\n"
            "E-Mail Address\tFlat No.\tLast Name\tFirst Name\tNotes\n"
            "anna@example.de\t3B\tMüller\tAnna\tgate code 12\n")
    parsed = parse_directory(text.encode())
    assert [(r.name, r.unit, r.email, r.line) for r in parsed.rows] == [
        ("Anna Müller", "3B", "anna@example.de", 4)]
    assert parsed.notes == ("lines 1-2 above the header ignored", "column 5 ('Notes') ignored")


def test_old_mac_line_ends_and_no_final_line_end() -> None:
    text = "name,unit,email\rAnna,1,anna@example.de\rBob,2,bob@example.com"
    assert [(r.name, r.line) for r in parse_directory(text.encode()).rows] == [("Anna", 2), ("Bob", 3)]


def test_an_identical_repeated_line_is_read_once_and_noted() -> None:
    parsed = parse_directory((GOOD + "Anna Müller,3B,anna@example.de,de,+49 30 1234\n").encode())
    assert len(parsed.rows) == 2 and not parsed.problems
    assert parsed.notes == ("line 4 repeats line 2: read once",)


# what is wrong, line by line ----------------------------------------------------------------------------

def test_every_bad_line_is_reported_with_its_number_and_reason() -> None:
    text = ("name;unit;email;language;phone\n"
            "Anna Müller;3B;anna@example.de;de;\n"  # 2: fine
            "Carl;12;carl@@example.de;;\n"  # 3
            ";5;dora@example.de;;\n"  # 4
            "Eve;;eve@example.de;;\n"  # 5
            "Finn;6;finn@example.de;fr;\n"  # 6
            "Gus;7;gus@example.de;;ring twice\n"  # 7
            "Hal;8;anna@example.de;;\n"  # 8
            "Ida;9;ida@example.de;;;surplus\n"  # 9
            "\"Jo\nJones\";10;jo@example.de;;\n"  # 10-11
            "Kai;11;kai@example;;\n")  # 12
    text_bytes = text.encode() + "Lisa;12;lisa@müller.de;;\n".encode("latin-1")  # 13: not UTF-8
    assert problems_of(text_bytes) == [
        "line 3: email 'carl@@example.de' is not an e-mail address: it has more than one @",
        "line 4: name is empty",
        "line 5: unit is empty",
        "line 6: language 'fr' is not de or en (leave it empty for the locker's own)",
        "line 7: phone 'ring twice' is not a phone number (digits, spaces, + ( ) . / -)",
        "line 8: email anna@example.de is also on line 2 (every resident needs an address of their own)",
        "line 9: 6 fields where the header has 5: is there a semicolon inside a value? Put that value in "
        "double quotes",
        "line 10: a value spans lines 10-11 (a line break inside quotes, or a double quote (\") without its "
        "closing partner)",
        "line 12: email 'kai@example' is not an e-mail address: the domain 'example' has no dot",
        "line 13: not UTF-8 text: save the file as \"CSV UTF-8\"",
    ]
    parsed = parse_directory(text_bytes)
    assert [row.name for row in parsed.rows] == ["Anna Müller"]
    assert parsed.skipped[0] == ("Carl", "12", "carl@@example.de")


def test_an_unclosed_quote_is_one_problem_not_a_crash() -> None:
    text = GOOD + "\"Unclosed,11,x@example.de\nCarl,12,carl@example.de\n"
    assert problems_of(text.encode()) == [
        "line 4: a value spans lines 4-5 (a line break inside quotes, or a double quote (\") without its "
        "closing partner)"]


def test_a_huge_field_is_one_problem() -> None:
    text = GOOD + "Carl," + "9" * 200_000 + ",carl@example.de\n"
    [problem] = parse_directory(text.encode()).problems
    assert problem.line == 4 and "CSV" in problem.message


# files that are no directory ----------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty: expected a header row (name, unit, email) and one line per resident"),
    (b"\n \r\n", "the file is empty: expected a header row (name, unit, email) and one line per resident"),
    (b"PK\x03\x04rest of a zip", "this is an Excel workbook (.xlsx) or another zip file, not CSV: save it as "
                                 "\"CSV UTF-8\""),
    (b"\xd0\xcf\x11\xe0\xa1\xb1", "this is an old Excel workbook (.xls), not CSV: save it as \"CSV UTF-8\""),
    ("name,unit,email\n".encode("utf-16"), "this is UTF-16 text, not UTF-8: save it as \"CSV UTF-8\""),
    (b"hello world\nthis is a letter\n",
     "no header row: the first lines must name the columns name, unit and email (optional: language, phone), "
     "separated by commas or semicolons; the file starts with 'hello world'"),
    (b"name,flat,phone\nAnna,1,123\n", "line 1: the header has no email column (it has: name, flat, phone); "
                                       "expected name, unit, email and optionally language, phone"),
    (b"name;email;mail;unit\n", "line 1: columns 2 and 3 are both email: keep one"),
    (b"name,unit,email\n\n\n", "no residents: the header (line 1) is followed by no resident lines"),
    (b"first name,unit,email\n", "line 1: the header has no name column (it has: first name, unit, email); "
                                 "expected name, unit, email and optionally language, phone"),
])
def test_a_file_that_is_no_directory_is_one_clear_line(data: bytes, message: str) -> None:
    with pytest.raises(DirectoryError) as raised:
        parse_directory(data)
    assert str(raised.value) == message


def test_five_megabytes_of_garbage_are_refused_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, random.Random(5).randbytes(5_000_000))
    started = time.monotonic()
    with pytest.raises(DirectoryError) as raised:
        read_directory(path)
    assert str(raised.value) == (f"{path}: larger than 2 MB: too large for a resident directory (at most "
                                 "20,000 residents); is it the right file?")
    assert time.monotonic() - started < 1.0


def test_two_megabytes_of_text_garbage_get_a_clear_answer_quickly() -> None:
    garbage = random.Random(2)
    lines = ["".join(garbage.choice("abc,;\" \t@.xyz") for _ in range(80))
             for _ in range(MAX_FILE_BYTES // 82)]
    started = time.monotonic()
    try:
        parsed = parse_directory("\n".join(lines).encode())
    except DirectoryError as error:
        assert "\n" not in str(error)
    else:
        assert not parsed.rows and parsed.problems
    assert time.monotonic() - started < 5.0


def test_file_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=f"^{tmp_path / 'nope.csv'}: file not found$"):
        read_directory(tmp_path / "nope.csv")
    with pytest.raises(DirectoryError, match=f"^{tmp_path}: is a folder, not a file$"):
        read_directory(tmp_path)
    if os.geteuid() != 0:
        locked = write(tmp_path, GOOD)
        locked.chmod(0)
        with pytest.raises(DirectoryError, match=r"permission denied$"):
            read_directory(locked)


# importing into the store -------------------------------------------------------------------------------

def test_all_or_nothing_by_default_and_the_good_lines_with_skip_bad(tmp_path: Path,
                                                                    store: DirectoryStore) -> None:
    import_residents(store, write(tmp_path, GOOD), at=T0)
    bad = write(tmp_path, "name,unit,email\nAnna Müller,3B,anna@example.de\nCarl,12,carl@example\n"
                          "Dora,14,dora@example.de\n")
    refused = import_residents(store, bad, at=T0 + 1)
    assert not refused.imported
    assert refused.refused == ("1 bad line: nothing imported (fix them, or import the good lines with "
                               "--skip-bad)")
    assert refused.parsed.problems == (LineProblem(3, "email 'carl@example' is not an e-mail address: the "
                                                      "domain 'example' has no dot"),)
    assert sorted(r.email for r in store.residents()) == ["anna@example.de", "bob@example.com"]
    skipping = import_residents(store, bad, skip_bad=True, at=T0 + 2)
    assert skipping.result is not None
    assert [r.email for r in skipping.result.added] == ["dora@example.de"]
    assert [r.email for r in skipping.result.removed] == ["bob@example.com"]
    assert sorted(r.email for r in store.residents()) == ["anna@example.de", "dora@example.de"]


def test_a_resident_whose_line_went_bad_is_not_removed_by_skip_bad(tmp_path: Path,
                                                                   store: DirectoryStore) -> None:
    import_residents(store, write(tmp_path, GOOD), at=T0)
    typo = write(tmp_path, "name,unit,email\nAnna Müller,3B,anna@example.de\nBob Smith,10,bob@example,,\n")
    report = import_residents(store, typo, skip_bad=True, at=T0 + 1)
    assert report.result is not None and [r.email for r in report.result.spared] == ["bob@example.com"]
    assert not report.result.removed
    assert sorted(r.email for r in store.residents()) == ["anna@example.de", "bob@example.com"]


def test_reimporting_the_same_file_is_a_no_op(tmp_path: Path, store: DirectoryStore) -> None:
    path = write(tmp_path, GOOD)
    assert import_residents(store, path, at=T0).result is not None
    audit_size = len(store.audit_log())
    again = import_residents(store, path, at=T0 + 1)
    assert again.result is not None and not again.result.changed and again.result.unchanged == 2
    assert len(store.audit_log()) == audit_size


def test_a_resident_with_a_parcel_waiting_is_kept_and_reported(tmp_path: Path, store: DirectoryStore) -> None:
    report = import_residents(store, write(tmp_path, GOOD), at=T0)
    assert report.result is not None
    bob = report.result.added[1]
    deposit_for(store, bob.id, "P-1", "01")
    moved_out = import_residents(store, write(tmp_path, "name,unit,email\nAnna Müller,3B,anna@example.de\n"),
                                 at=T0 + 1)
    assert moved_out.result is not None and [r.id for r in moved_out.result.kept] == [bob.id]
    assert not moved_out.result.removed


def test_a_file_of_only_bad_lines_imports_nothing_even_with_skip_bad(tmp_path: Path,
                                                                    store: DirectoryStore) -> None:
    import_residents(store, write(tmp_path, GOOD), at=T0)
    report = import_residents(store, write(tmp_path, "name,unit,email\nX,,x@example.de\n"), skip_bad=True)
    assert report.refused == "no good lines: nothing imported"
    assert len(store.residents()) == 2


# properties ---------------------------------------------------------------------------------------------

_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn")),
                 min_size=1, max_size=30).map(lambda text: " ".join(text.split())).filter(bool)
_units = st.from_regex(r"[0-9]{1,3}[A-Za-z]?|[A-Z]-[0-9]{1,2}|Whg\. [0-9]{1,2}", fullmatch=True)
_local_parts = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,14}[a-z0-9]", fullmatch=True).filter(
    lambda text: ".." not in text)
_domains = st.sampled_from(["example.de", "example.com", "müller.de", "mail.example.org"])
_residents = st.lists(
    st.builds(ResidentRow, name=_names, unit=_units,
              email=st.builds(lambda local, domain: f"{local}@{domain}", _local_parts, _domains),
              language=st.sampled_from([None, "de", "en"]),
              phone=st.sampled_from([None, "+49 30 1234567", "(030) 12-34"])),
    min_size=1, max_size=12, unique_by=lambda resident: resident.email.casefold())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(residents=_residents, delimiter=st.sampled_from([",", ";", "\t"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       line_end=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(), blank_every=st.integers(0, 4))
def test_any_directory_a_spreadsheet_writes_reads_back_the_same(
        residents: list[ResidentRow], delimiter: str, quoting: int, line_end: str, bom: bool,
        blank_every: int) -> None:
    residents = [resident for resident in residents if resident_row_problem(resident) is None]
    if not residents:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=line_end)
    writer.writerow(["Name", "Unit", "E-Mail", "Language", "Phone"])
    line = 1
    expected_lines = []
    for index, resident in enumerate(residents):
        if blank_every and index % blank_every == 0:
            buffer.write(line_end)
            line += 1
        writer.writerow([resident.name, resident.unit, resident.email, resident.language or "",
                         resident.phone or ""])
        line += 1
        expected_lines.append(line)
    data = ("\ufeff" if bom else "") + buffer.getvalue()
    parsed = parse_directory(data.encode("utf-8"))
    assert parsed.problems == ()
    assert list(parsed.rows) == residents  # ResidentRow equality leaves out the line
    assert [row.line for row in parsed.rows] == expected_lines


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000)
       | st.text(alphabet="ab,;\"\n\r\t@. äü\x00", max_size=400).map(str.encode))
def test_no_input_crashes_the_parser(data: bytes) -> None:
    try:
        parsed = parse_directory(b"name;unit;email\n" + data)
    except DirectoryError as error:
        assert "\n" not in str(error)
        return
    for problem in parsed.problems:
        assert "\n" not in problem.message and problem.line >= 2
    for row in parsed.rows:
        assert resident_row_problem(row) is None
