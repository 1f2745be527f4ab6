"""The resident directory from a building's spreadsheet, and `python -m kiosk residents ...`.

A building manager exports the residents as CSV from whatever spreadsheet they use. Read here:

- a header row naming the columns, in any order and case: name (or first name + last name), unit (flat,
  apartment, Wohnung), email (e-mail), and optionally language (de/en) and phone. Other columns are ignored
  and reported; a few title lines above the header are skipped and reported;
- UTF-8 with or without a byte-order mark; commas, semicolons (German Excel) or tabs between fields;
  quoted fields; Windows, Unix or old Mac line ends; blank lines;
- at most MAX_FILE_BYTES and MAX_ROWS: a resident directory is small, so anything larger is refused at once.

Every problem is reported with its line number and what is wrong. By default the import is all or nothing:
one bad line refuses the whole file and nothing changes. With `skip_bad` the good lines are imported and
the bad ones reported, and a resident a bad line names is never removed because of it. Importing the same
file again changes nothing. Who is added, updated, removed or kept is decided by the store
(kiosk.store.residents.ResidentRecords.replace_residents).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kiosk.config import ConfigError, KioskConfig, load_config
from kiosk.store import SqliteStore, StoreError
from kiosk.store.residents import (
    ImportResult,
    QueuedMail,
    Resident,
    ResidentRecords,
    ResidentRow,
    language_code,
    resident_row_problem,
)

MAX_FILE_BYTES = 2_000_000  # ~20,000 residents; a 5 MB "directory" is something else
MAX_ROWS = 20_000
MAX_TITLE_LINES = 5  # lines above the header that are skipped (an export's title, a date)
MAX_FIELD_CHARS = 1_000
REPORT_LIMIT = 50  # problems printed by the command; the rest are counted

REQUIRED_COLUMNS = ("name", "unit", "email")
OPTIONAL_COLUMNS = ("language", "phone")
# Header spellings, compared with case, spaces, dots, dashes and underscores removed.
_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "resident", "residentname", "bewohner", "bewohnerin", "mieter", "mieterin"),
    "first_name": ("firstname", "givenname", "forename", "vorname"),
    "last_name": ("lastname", "surname", "familyname", "nachname", "familienname"),
    "unit": ("unit", "unitno", "unitnumber", "flat", "flatno", "flatnumber", "apartment", "apartmentno",
             "apt", "aptno", "wohnung", "whg", "wohnungsnummer", "whgnr", "einheit"),
    "email": ("email", "emailaddress", "mail", "emailadresse", "mailadresse"),
    "language": ("language", "lang", "sprache"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell", "telefon",
              "telefonnummer", "handy", "mobil"),
}
_COLUMN_BY_ALIAS = {alias: column for column, aliases in _COLUMN_ALIASES.items() for alias in aliases}
_DELIMITERS = (",", ";", "\t")
# The start of files that are not CSV text, with what to do instead.
_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file, not CSV: save it as \"CSV UTF-8\""),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls), not CSV: save it as \"CSV UTF-8\""),
    (b"%PDF", "a PDF document, not CSV"),
    (b"\xff\xfe", "UTF-16 text, not UTF-8: save it as \"CSV UTF-8\""),
    (b"\xfe\xff", "UTF-16 text, not UTF-8: save it as \"CSV UTF-8\""),
)


class DirectoryError(Exception):
    """The file as a whole cannot be read as a resident directory; `str()` is one line naming the file."""


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class ParsedDirectory:
    rows: tuple[ResidentRow, ...]  # the good lines
    problems: tuple[LineProblem, ...]  # the bad lines
    notes: tuple[str, ...]  # what was ignored (columns, title lines, repeated lines)
    skipped: tuple[tuple[str, str, str], ...]  # (name, unit, email) as the bad lines had them


@dataclass(frozen=True)
class ImportReport:
    """What an import did. `result` is None when nothing was imported (`refused` says why)."""

    parsed: ParsedDirectory
    result: ImportResult | None
    refused: str | None = None

    @property
    def imported(self) -> bool:
        return self.result is not None


# reading ------------------------------------------------------------------------------------------------

def read_directory(path: str | Path) -> ParsedDirectory:
    """Read a CSV file (at most MAX_FILE_BYTES). Raises DirectoryError when it is no directory at all."""
    label = str(path)
    try:
        with open(Path(path).expanduser(), "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DirectoryError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise DirectoryError(f"{label}: is a folder, not a file") from None
    except PermissionError:
        raise DirectoryError(f"{label}: permission denied") from None
    except OSError as error:
        raise DirectoryError(f"{label}: cannot read: {error.strerror or error}") from None
    try:
        return parse_directory(data)
    except DirectoryError as error:
        raise DirectoryError(f"{label}: {error}") from None


def parse_directory(data: bytes) -> ParsedDirectory:
    """Parse the bytes of a CSV export (module docstring). Raises DirectoryError (without a file name) when
    they are no resident directory at all; every problem of a single line is a LineProblem instead."""
    if len(data) > MAX_FILE_BYTES:
        raise DirectoryError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB: too large for a resident "
                             f"directory (at most {MAX_ROWS:,} residents); is it the right file?")
    for magic, what in _NOT_CSV:
        if data.startswith(magic):
            raise DirectoryError(f"this is {what}")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # Undecodable bytes become lone surrogates, so only the lines holding them are reported.
    text = data.decode("utf-8", errors="surrogateescape")
    if not text.strip():
        raise DirectoryError("the file is empty: expected a header row (name, unit, email) and one line per "
                             "resident")
    header = _find_header(text)
    notes = list(header.notes)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter, strict=False)
    rows: list[ResidentRow] = []
    problems: list[LineProblem] = []
    skipped: list[tuple[str, str, str]] = []
    first_of: dict[str, ResidentRow] = {}
    previous_end = 0
    records = 0
    while True:
        start = previous_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:  # e.g. a field over the csv module's size limit
            previous_end = reader.line_num
            problems.append(LineProblem(start, f"not readable as CSV ({error})"))
            continue
        previous_end = reader.line_num
        if start <= header.line or not any(cell.strip() for cell in cells):
            continue
        records += 1
        if records > MAX_ROWS:
            raise DirectoryError(f"more than {MAX_ROWS:,} lines of residents: too many for a resident "
                                 "directory; is it the right file?")
        row, problem, raw = _read_row(cells, header, start, previous_end)
        if row is not None:
            earlier = first_of.get(row.email.casefold())
            if earlier is None:
                first_of[row.email.casefold()] = row
                rows.append(row)
                continue
            if earlier == row:
                notes.append(f"line {start} repeats line {earlier.line}: read once")
                continue
            problem = (f"email {row.email} is also on line {earlier.line} (every resident needs an address "
                       "of their own)")
        problems.append(LineProblem(start, problem or "unreadable"))
        skipped.append(raw)
    if not rows and not problems:
        raise DirectoryError(f"no residents: the header (line {header.line}) is followed by no resident "
                             "lines")
    return ParsedDirectory(tuple(rows), tuple(problems), tuple(notes), tuple(skipped))


@dataclass(frozen=True)
class _Header:
    line: int
    delimiter: str
    columns: dict[str, int]  # column -> index; "name" is -1 when made of first and last name
    width: int  # how many cells the header has
    notes: tuple[str, ...]


def _find_header(text: str) -> _Header:
    """The header: the first of the first few non-blank lines that names known columns."""
    seen = 0
    first = ""
    # newline="": lines split where the csv module splits them, so line numbers agree.
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if not line.strip():
            continue
        first = first or line.strip()
        seen += 1
        if seen > MAX_TITLE_LINES + 1:
            break
        best: tuple[int, str, list[str]] | None = None
        for delimiter in _DELIMITERS:
            try:
                cells = next(csv.reader([line], delimiter=delimiter))
            except (csv.Error, StopIteration):
                continue
            known = sum(1 for cell in cells if _column_name(cell) is not None)
            if known and (best is None or known > best[0]):
                best = (known, delimiter, cells)
        if best is None:
            continue
        _, delimiter, cells = best
        columns, notes = _columns(cells, number)
        if number > 1:
            above = "line 1" if number == 2 else f"lines 1-{number - 1}"
            notes.insert(0, f"{above} above the header ignored")
        return _Header(number, delimiter, columns, len(cells), tuple(notes))
    shown = first[:60] + ("…" if len(first) > 60 else "")
    raise DirectoryError(
        "no header row: the first lines must name the columns name, unit and email (optional: language, "
        f"phone), separated by commas or semicolons; the file starts with {_printable(shown)!r}")


def _columns(cells: list[str], line: int) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    notes: list[str] = []
    for index, cell in enumerate(cells):
        column = _column_name(cell)
        if column is None:
            if cell.strip():
                notes.append(f"column {index + 1} ({_printable(cell.strip())!r}) ignored")
            continue
        if column in columns:
            raise DirectoryError(f"line {line}: columns {columns[column] + 1} and {index + 1} are both "
                                 f"{column.replace('_', ' ')}: keep one")
        columns[column] = index
    if "name" not in columns and "first_name" in columns and "last_name" in columns:
        columns["name"] = -1
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        found = ", ".join(_printable(cell.strip()) for cell in cells if cell.strip())
        raise DirectoryError(f"line {line}: the header has no {' or '.join(missing)} column (it has: "
                             f"{found}); expected name, unit, email and optionally language, phone")
    return columns, notes


def _column_name(cell: str) -> str | None:
    key = "".join(character for character in cell.casefold() if character.isalnum())
    return _COLUMN_BY_ALIAS.get(key)


def _read_row(cells: list[str], header: _Header, line: int,
              last_line: int) -> tuple[ResidentRow | None, str | None, tuple[str, str, str]]:
    """(the row, None, raw) or (None, what is wrong, raw), raw being (name, unit, email) as written."""
    def cell(column: str) -> str:
        index = header.columns.get(column)
        if index is None or index < 0 or index >= len(cells):
            return ""
        return cells[index].strip()

    if header.columns["name"] == -1:
        name = f"{cell('first_name')} {cell('last_name')}".strip()
    else:
        name = cell("name")
    unit, email, language_text, phone = cell("unit"), cell("email"), cell("language"), cell("phone")
    raw = (name, unit, email)
    values = (name, unit, email, language_text, phone)
    if last_line > line and any("\n" in value or "\r" in value for value in values):
        return None, (f"a value spans lines {line}-{last_line} (a line break inside quotes, or a double "
                      "quote (\") without its closing partner)"), raw
    if any(value.strip() for value in cells[header.width:]):
        separator = _delimiter_name(header.delimiter)
        return None, (f"{len(cells)} fields where the header has {header.width}: is there a {separator} "
                      "inside a value? Put that value in double quotes"), raw
    if any(_undecodable(value) for value in values):
        return None, "not UTF-8 text: save the file as \"CSV UTF-8\"", raw
    if any(len(value) > MAX_FIELD_CHARS for value in values):
        return None, f"a value is longer than {MAX_FIELD_CHARS} characters", raw
    for column, value in (("name", name), ("unit", unit), ("email", email)):
        if not value:
            return None, f"{column} is empty", raw
    language = None
    if language_text:
        language = language_code(language_text)
        if language is None:
            return None, (f"language {language_text!r} is not de or en (leave it empty for the locker's "
                          "own)"), raw
    # Spreadsheets pad with spaces and tabs; one space between words is what people mean.
    row = ResidentRow(" ".join(name.split()), " ".join(unit.split()), email, language, phone or None, line)
    problem = resident_row_problem(row)
    if problem is not None:
        return None, problem, raw
    return row, None, raw


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def _undecodable(text: str) -> bool:
    return any("\udc80" <= character <= "\udcff" for character in text)


def _printable(text: str) -> str:
    return "".join(character if character.isprintable() and not _undecodable(character) else "?"
                   for character in text)


# importing ----------------------------------------------------------------------------------------------

def import_residents(store: ResidentRecords, path: str | Path, *, skip_bad: bool = False,
                     at: float | None = None) -> ImportReport:
    """Read `path` and replace the directory with it (module docstring). A file that is no directory raises
    DirectoryError; a refused import (bad lines without `skip_bad`, or no good line) writes nothing and
    says why in `refused`. StoreError from the store propagates, nothing written."""
    parsed = read_directory(path)
    if parsed.problems and not skip_bad:
        count = len(parsed.problems)
        return ImportReport(parsed, None, f"{count} bad line{'s' if count != 1 else ''}: nothing imported "
                                          "(fix them, or import the good lines with --skip-bad)")
    if not parsed.rows:
        return ImportReport(parsed, None, "no good lines: nothing imported")
    result = store.replace_residents(parsed.rows, time.time() if at is None else at, spare=parsed.skipped)
    return ImportReport(parsed, result)


# the command --------------------------------------------------------------------------------------------

def open_store(config: KioskConfig) -> SqliteStore:
    return SqliteStore.open(config.locker.database, config.compartments)


def build_parser(prog: str = "kiosk residents") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="The resident directory of a standalone locker, and its pickup-code mails.")
    parser.add_argument("--config", type=Path, required=True, help="kiosk.toml")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    importing = commands.add_parser(
        "import", help="replace the directory with a CSV file (name, unit, email[, language, phone])")
    importing.add_argument("file", type=Path)
    importing.add_argument("--skip-bad", action="store_true",
                           help="import the good lines and report the bad ones (default: all or nothing)")
    commands.add_parser("list", help="every resident, by unit")
    finding = commands.add_parser("find", help="residents whose name or unit contains TEXT")
    finding.add_argument("text")
    commands.add_parser("mail", help="the mails waiting to be sent, and those the server refused")
    retry = commands.add_parser("mail-retry", help="send a refused mail again (after fixing its cause)")
    retry.add_argument("mail_id", type=int)
    return parser


def residents_main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
                   err: TextIO | None = None) -> int:
    """`python -m kiosk residents ...`: 0 done, 1 refused (bad lines, nothing found), 2 a usage, file,
    configuration or database error. Every error is one line on standard error."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error argparse has printed
        return int(exit_request.code or 0)
    try:
        config = load_config(arguments.config)
        store = open_store(config)
    except (ConfigError, StoreError) as error:
        print(f"kiosk residents: {error}", file=err)
        return 2
    try:
        return _run(arguments, store, out, err)
    except DirectoryError as error:
        print(f"kiosk residents: {error}", file=err)
        return 2
    except StoreError as error:
        print(f"kiosk residents: {error}", file=err)
        return 2
    finally:
        store.close()


def _run(arguments: argparse.Namespace, store: SqliteStore, out: TextIO, err: TextIO) -> int:
    if arguments.command == "import":
        report = import_residents(store, arguments.file, skip_bad=arguments.skip_bad)
        _print_import(report, str(arguments.file), out, err)
        return 0 if report.imported else 1
    if arguments.command == "list":
        residents = store.residents()
        for resident in residents:
            print(_resident_line(resident), file=out)
        print(f"{len(residents)} residents", file=out)
        return 0
    if arguments.command == "find":
        found = store.find_residents(arguments.text)
        for resident in found:
            print(_resident_line(resident), file=out)
        if not found:
            print(f"nobody's name or unit contains {arguments.text!r}", file=err)
        return 0 if found else 1
    if arguments.command == "mail":
        held = store.mail_held()
        print(f"{store.mail_depth()} mails waiting, {len(held)} of them refused by the server", file=out)
        for mail in held:
            print(_held_line(mail), file=out)
        return 0
    if store.mail_release(arguments.mail_id, time.time()):
        print(f"mail {arguments.mail_id} will be sent again", file=out)
        return 0
    print(f"no refused mail {arguments.mail_id} (see: kiosk residents mail)", file=err)
    return 1


def _print_import(report: ImportReport, file: str, out: TextIO, err: TextIO) -> None:
    for note in report.parsed.notes[:REPORT_LIMIT]:
        print(f"{file}: note: {note}", file=out)
    for problem in report.parsed.problems[:REPORT_LIMIT]:
        print(f"{file}:{problem.line}: {problem.message}", file=err)
    hidden = len(report.parsed.problems) - REPORT_LIMIT
    if hidden > 0:
        print(f"{file}: … and {hidden} more bad lines", file=err)
    if report.result is None:
        print(f"{file}: {report.refused}", file=err)
        return
    result = report.result
    skipped = len(report.parsed.problems)
    summary = (f"{len(result.added)} added, {len(result.updated)} updated, {result.unchanged} unchanged, "
               f"{len(result.removed)} removed")
    if skipped:
        summary += f", {skipped} bad line{'s' if skipped != 1 else ''} skipped"
    print(f"{file}: {summary}" + ("" if result.changed else " (nothing changed)"), file=out)
    for resident in result.kept:
        print(f"kept (a parcel of theirs is in the locker): {_resident_line(resident)}", file=out)
    for resident in result.spared:
        print(f"kept (their line was skipped as bad): {_resident_line(resident)}", file=out)
    if result.released_mails:
        print(f"{result.released_mails} refused mails will be sent again to corrected addresses", file=out)


def _resident_line(resident: Resident) -> str:
    extras = [resident.language or "default language"]
    if resident.phone:
        extras.append(resident.phone)
    if not resident.active:
        extras.append("inactive")
    return f"{resident.id:>5}  {resident.unit:<8} {resident.name} <{resident.email}> ({', '.join(extras)})"


def _held_line(mail: QueuedMail) -> str:
    resident = mail.resident
    return (f"mail {mail.id}: parcel {mail.notice.parcel_id} for {resident.name} <{resident.email}>, "
            f"{mail.attempts} attempts: {mail.last_error}")
