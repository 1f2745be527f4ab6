"""Standalone mode's resident directory and e-mail queue (migration 0004), as a mixin of SqliteStore.

With no platform the locker is its own system of record: a building manager imports the residents from a
spreadsheet (kiosk.residents), the courier picks the recipient from them at drop-off, and the locker
e-mails the pickup code (kiosk.mail). Same rules as the rest of SqliteStore: every public method is one
transaction that commits completely or, raising StoreError, not at all.

The directory: a resident is identified by their e-mail address (compared without regard to case). A full
import (`replace_residents`) adds, updates and removes residents so the directory matches the file; a row
whose address is new but whose name and unit match exactly one resident the file no longer names is taken
as that resident's new address (so a corrected address keeps the resident, their parcels and their
mails). A resident the file no longer names is removed, unless a parcel of theirs is still in the locker:
then they are kept, inactive (drop-off no longer offers them), until a later import finds them gone
without a parcel. Importing the same file twice changes nothing and writes nothing.

The mail queue: a pickup notice is queued by `_queue_pickup_notice` inside place_parcel's transaction, so
a deposit and its notification commit together or not at all. A mail stays queued until the SMTP server
has accepted it (`mail_sent` deletes it), or until its parcel is no longer in the locker
(`mail_discard_stale`). A transient failure records the error and when to try again; a permanent one
(the server refuses the recipient for good) holds the mail with its error, visible in `mail_held()`, until
someone fixes the address (a re-import that changes it releases the resident's held mails) or releases it.

The pickup code IS stored in clear in the mail queue: the mail exists to tell the resident the code, and
the credential table holds only its keyed hash, so the code cannot be made again later. It is kept only
until the SMTP server accepted the message (or the parcel left the locker), then the row is deleted.
Until SQLite reuses the freed pages, the deleted bytes may still be in the database file and its WAL,
which are protected like the rest of the locker's data (the kiosk user's files, never sent anywhere).
Nothing here logs a code: QueuedMail and PickupNotice hide it in their repr.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import time
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.core.model import PickupNotice, Size
from kiosk.store.errors import StoreError

LANGUAGES = ("en", "de")
NAME_MAX_CHARS = 120
UNIT_MAX_CHARS = 40
PHONE_MAX_CHARS = 40
EMAIL_MAX_CHARS = 254
MAIL_ERROR_MAX_CHARS = 300
FIND_LIMIT = 50

# Parcels in these states are physically in the locker, so their recipient must stay in the directory.
_IN_LOCKER_SQL = "('in_locker', 'expired')"
_RESIDENT_COLUMNS = "id, name, unit, email, language, phone, active"
_MAIL_COLUMNS = (
    "m.id AS mail_id, m.resident_id, m.parcel_id, m.code, m.compartment_id, m.size, m.locker_name, "
    "m.queued_at, m.attempts, m.last_error, m.last_attempt_at, m.next_attempt_at, m.held, "
    "r.name, r.unit, r.email, r.language, r.phone, r.active, "
    "EXISTS (SELECT 1 FROM parcels AS p WHERE p.id = m.parcel_id AND p.state = 'in_locker') AS waiting")

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_CODE = re.compile(r"[0-9]{6,8}")
_NATURAL_PARTS = re.compile(r"(\d+)")


# the data -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResidentRow:
    """One resident as an import names them. `line` is where they stand in the file (for reports)."""

    name: str
    unit: str
    email: str
    language: str | None = None  # "en" or "de"; None: the locker's default language
    phone: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Resident:
    id: int
    name: str
    unit: str
    email: str
    language: str | None  # None: the locker's default language
    phone: str | None
    active: bool  # False: kept only because a parcel of theirs is still in the locker


@dataclass(frozen=True)
class ImportResult:
    """What `replace_residents` did. `kept`: named no longer, but a parcel of theirs is in the locker, so
    kept (inactive); `spared`: named no longer because their line was skipped as bad, so left as they were."""

    added: tuple[Resident, ...] = ()
    updated: tuple[Resident, ...] = ()  # as they are now
    unchanged: int = 0
    removed: tuple[Resident, ...] = ()  # as they were
    kept: tuple[Resident, ...] = ()  # as they are now (inactive)
    spared: tuple[Resident, ...] = ()
    released_mails: int = 0  # held mails tried again because their resident's address changed
    deactivated: int = 0  # how many of `kept` this import made inactive (the others were already)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.released_mails or self.deactivated)


@dataclass(frozen=True)
class QueuedMail:
    id: int
    notice: PickupNotice
    resident: Resident  # as the directory has them now (their address may have changed since)
    queued_at: float
    attempts: int
    last_error: str | None
    last_attempt_at: float | None
    next_attempt_at: float | None  # None while held
    parcel_waiting: bool  # the parcel is still in the locker, waiting for its recipient

    @property
    def held(self) -> bool:
        """Refused for good by the SMTP server: not retried until released."""
        return self.next_attempt_at is None


# validation shared with the CSV import and the configuration ---------------------------------------------

def email_problem(address: str) -> str | None:
    """Why `address` is not an e-mail address the locker can send to, or None if it is.

    Accepted: a dot-atom local part (no quoted forms: spreadsheets do not hold them, and they hide typos)
    and a domain of at least two labels; the domain may be internationalised (müller.de), the local part
    must be ASCII (most SMTP servers cannot deliver to anything else).
    """
    if not address:
        return "it is empty"
    if any(character.isspace() for character in address):
        return "it contains a space"
    if len(address) > EMAIL_MAX_CHARS:
        return f"it is longer than {EMAIL_MAX_CHARS} characters"
    if address.count("@") != 1:
        return "it has no @" if "@" not in address else "it has more than one @"
    local, domain = address.split("@")
    if not local:
        return "nothing before the @"
    if not domain:
        return "no domain after the @"
    if not local.isascii():
        return "the part before the @ must be plain ASCII letters, digits and .!#$%&'*+/=?^_`{|}~-"
    if len(local) > 64:
        return "the part before the @ is longer than 64 characters"
    if not _LOCAL_PART.fullmatch(local):
        return "the part before the @ has a character or dot out of place"
    try:
        ascii_domain = _ascii_domain(domain)
    except ValueError:
        return f"the domain {domain!r} is not a valid domain name"
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        return f"the domain {domain!r} has no dot"
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in labels) or len(ascii_domain) > 253:
        return f"the domain {domain!r} has a character or dot out of place"
    if not _TOP_LEVEL.fullmatch(labels[-1]):
        return f"the domain {domain!r} does not end in a top-level domain such as .de"
    return None


def smtp_address(address: str) -> str:
    """The address as an SMTP envelope carries it: the domain in its ASCII (IDNA) form."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{_ascii_domain(domain)}"


def language_code(value: str) -> str | None:
    """"de", "DE", "de-AT", "de_CH", "Deutsch", "German" -> "de" (likewise English); None if unknown."""
    text = value.strip().casefold()
    aliases = {"deutsch": "de", "german": "de", "english": "en", "englisch": "en"}
    if text in aliases:
        return aliases[text]
    base = re.split(r"[-_]", text, maxsplit=1)[0]
    return base if base in LANGUAGES else None


def resident_row_problem(row: ResidentRow) -> str | None:
    """Why the store would refuse this row (the field and the reason), or None."""
    for name, value, limit in (("name", row.name, NAME_MAX_CHARS), ("unit", row.unit, UNIT_MAX_CHARS)):
        if not isinstance(value, str) or not value.strip():
            return f"{name} is empty"
        if len(value) > limit:
            return f"{name} is longer than {limit} characters"
        if _has_control_characters(value):
            return f"{name} contains a line break or another control character"
    if not isinstance(row.email, str):
        return "email is not text"
    problem = email_problem(row.email)
    if problem is not None:
        return f"email {row.email!r} is not an e-mail address: {problem}"
    if row.language is not None and row.language not in LANGUAGES:
        return f"language {row.language!r} is not one of: {', '.join(LANGUAGES)}"
    if row.phone is not None:
        if not isinstance(row.phone, str) or len(row.phone) > PHONE_MAX_CHARS:
            return f"phone is not text of at most {PHONE_MAX_CHARS} characters"
        if not _PHONE.fullmatch(row.phone) or sum(character.isdigit() for character in row.phone) < 3:
            return f"phone {row.phone!r} is not a phone number (digits, spaces, + ( ) . / -)"
    return None


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort "2" before "10" and "2a" before "2b", as people number flats."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in _NATURAL_PARTS.split(text) if part)


def _directory_order(resident: Resident) -> tuple[object, ...]:
    return natural_key(resident.unit), resident.name.casefold(), resident.id


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise ValueError(str(error)) from None


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp") for character in text)


def _folded(text: str) -> str:
    """For matching what a courier types: case, accents and spacing do not matter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


# the mixin ----------------------------------------------------------------------------------------------

class ResidentRecords:
    """The resident directory and the mail queue; SqliteStore inherits it (see the module docstring)."""

    if TYPE_CHECKING:
        def _write(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...

    # the directory --------------------------------------------------------------------------------------
    def replace_residents(self, rows: Iterable[ResidentRow], at: float, *,
                          spare: Iterable[tuple[str, str, str]] = ()) -> ImportResult:
        """Make the directory match a full import of `rows` (module docstring), in one transaction.

        `spare` names, as (name, unit, email) text as the file had it, the lines an import skipped as bad:
        a resident one of them names (by address, or by name and unit) is left as they are rather than
        removed, so a typo in one line never deletes a resident. An import of no rows is refused: it would
        empty the directory. Audited ("residents_imported") when anything changed.
        """
        checked = _checked_rows(rows)
        spared_addresses: set[str] = set()
        spared_places: set[tuple[str, str]] = set()
        for name, unit, email in spare:
            spared_addresses.add(str(email).strip().casefold())
            spared_places.add((_folded(str(name)), _folded(str(unit))))
        with self._write("import the resident directory") as connection:
            existing = [_resident(row) for row in connection.execute(
                f"SELECT {_RESIDENT_COLUMNS} FROM residents ORDER BY id").fetchall()]
            by_address = {resident.email.casefold(): resident for resident in existing}
            matched: dict[int, Resident] = {}  # resident id -> the existing resident
            pairs: list[tuple[ResidentRow, Resident | None]] = []
            for row in checked:
                resident = by_address.get(row.email.casefold())
                if resident is not None:
                    matched[resident.id] = resident
                pairs.append((row, resident))
            pairs = _match_new_addresses(pairs, [r for r in existing if r.id not in matched])
            added: list[Resident] = []
            updated: list[Resident] = []
            unchanged = 0
            released = 0
            for row, resident in pairs:
                if resident is None:
                    cursor = connection.execute(
                        "INSERT INTO residents (name, unit, email, language, phone, active, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                        (row.name, row.unit, row.email, row.language, row.phone, at, at))
                    added.append(_resident(_resident_row(connection, _row_id(cursor))))
                    continue
                matched[resident.id] = resident
                wanted = Resident(resident.id, row.name, row.unit, row.email, row.language, row.phone, True)
                if wanted == resident:
                    unchanged += 1
                    continue
                connection.execute(
                    "UPDATE residents SET name = ?, unit = ?, email = ?, language = ?, phone = ?, "
                    "active = 1, updated_at = ? WHERE id = ?",
                    (row.name, row.unit, row.email, row.language, row.phone, at, resident.id))
                if wanted.email.casefold() != resident.email.casefold():
                    released += max(connection.execute(
                        "UPDATE mail_queue SET held = 0, next_attempt_at = ? "
                        "WHERE resident_id = ? AND held = 1",
                        (at, resident.id)).rowcount, 0)
                updated.append(wanted)
            removed: list[Resident] = []
            kept: list[Resident] = []
            spared: list[Resident] = []
            deactivated = 0
            for resident in existing:
                if resident.id in matched:
                    continue
                if _has_parcel_in_locker(connection, resident.id):
                    kept.append(dataclasses.replace(resident, active=False))
                    if resident.active:
                        deactivated += 1
                        connection.execute("UPDATE residents SET active = 0, updated_at = ? WHERE id = ?",
                                           (at, resident.id))
                elif (resident.email.casefold() in spared_addresses
                      or (_folded(resident.name), _folded(resident.unit)) in spared_places):
                    spared.append(resident)
                else:
                    connection.execute("DELETE FROM residents WHERE id = ?", (resident.id,))
                    removed.append(resident)
            result = ImportResult(tuple(added), tuple(updated), unchanged, tuple(removed), tuple(kept),
                                  tuple(spared), released, deactivated)
            if result.changed:
                _audit(connection, "residents_imported", at, None, {
                    "added": len(added), "updated": len(updated), "unchanged": unchanged,
                    "removed": len(removed), "kept": len(kept), "spared": len(spared),
                    "released_mails": released})
            return result

    def residents(self, *, include_inactive: bool = True) -> Sequence[Resident]:
        """The directory, by unit (flat "2" before "10"), then name."""
        with self._read("list residents") as connection:
            rows = connection.execute(
                f"SELECT {_RESIDENT_COLUMNS} FROM residents"
                + ("" if include_inactive else " WHERE active = 1")).fetchall()
        return sorted((_resident(row) for row in rows), key=_directory_order)

    def resident(self, resident_id: int) -> Resident:
        """One resident, active or not; StoreError when there is none with that id."""
        with self._read("read a resident") as connection:
            return _resident(_resident_row(connection, _resident_id(resident_id)))

    def find_residents(self, text: str, limit: int = FIND_LIMIT) -> Sequence[Resident]:
        """Active residents whose name or unit contains `text` (case, accents and spacing do not matter),
        best first: the unit exactly, a unit starting with it, a name word starting with it, the rest.
        Empty text finds nobody: the courier must type something."""
        if not isinstance(text, str):
            raise StoreError(f"a search needs text, not {type(text).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise StoreError(f"find_residents limit must be a whole number >= 0, not {limit!r}")
        wanted = _folded(text)
        if not wanted:
            return []
        found: list[tuple[int, Resident]] = []
        for resident in self.residents(include_inactive=False):
            unit, name = _folded(resident.unit), _folded(resident.name)
            if unit == wanted:
                rank = 0
            elif unit.startswith(wanted):
                rank = 1
            elif any(word.startswith(wanted) for word in name.split()) or name.startswith(wanted):
                rank = 2
            elif wanted in unit or wanted in name:
                rank = 3
            else:
                continue
            found.append((rank, resident))
        found.sort(key=lambda item: item[0])  # stable: each rank keeps the directory's order
        return [resident for _, resident in found[:limit]]

    # the mail queue ------------------------------------------------------------------------------------
    def queue_pickup_notice(self, notice: PickupNotice, at: float) -> int:
        """Queue a pickup notice on its own; the kiosk queues it inside place_parcel's transaction with
        `_queue_pickup_notice`. The parcel must be known. Returns the mail's id."""
        with self._write("queue a pickup notice") as connection:
            return self._queue_pickup_notice(connection, notice, at)

    def _queue_pickup_notice(self, connection: sqlite3.Connection, notice: PickupNotice, at: float) -> int:
        """Queue `notice` inside the caller's write transaction (place_parcel's), so the deposit and its
        notification commit together; also records whose parcel it is (a resident with a parcel in the
        locker is never removed by an import). Raises StoreError for a bad notice, an unknown resident or
        parcel; the caller's transaction then rolls back whole."""
        _check_notice(notice)
        resident_row = connection.execute(
            "SELECT id FROM residents WHERE id = ?", (notice.resident_id,)).fetchone()
        if resident_row is None:
            raise StoreError(f"no resident {notice.resident_id!r} to notify of parcel {notice.parcel_id}")
        if connection.execute("SELECT 1 FROM parcels WHERE id = ?", (notice.parcel_id,)).fetchone() is None:
            raise StoreError(f"no parcel {notice.parcel_id!r} to notify resident {notice.resident_id} of")
        connection.execute(
            "INSERT INTO resident_parcels (parcel_id, resident_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT (parcel_id) DO UPDATE SET resident_id = excluded.resident_id, at = excluded.at",
            (notice.parcel_id, notice.resident_id, at))
        cursor = connection.execute(
            "INSERT INTO mail_queue (resident_id, parcel_id, code, compartment_id, size, locker_name, "
            "queued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (notice.resident_id, notice.parcel_id, notice.code, notice.compartment_id, notice.size.value,
             notice.locker_name, at, at))
        mail_id = _row_id(cursor)
        _audit(connection, "pickup_notice_queued", at, notice.parcel_id,
               {"resident_id": notice.resident_id, "mail_id": mail_id})
        return mail_id

    def mail_batch(self, limit: int, now: float) -> Sequence[QueuedMail]:
        """Up to `limit` mails due by `now` (not held), the longest-due first."""
        _check_limit(limit, "mail_batch")
        with self._read("read the mail queue") as connection:
            rows = connection.execute(
                f"SELECT {_MAIL_COLUMNS} FROM mail_queue AS m JOIN residents AS r ON r.id = m.resident_id "
                "WHERE m.held = 0 AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at, m.id LIMIT ?",
                (now, limit)).fetchall()
        return [_queued_mail(row) for row in rows]

    def mail_sent(self, mail_id: int, at: float | None = None) -> bool:
        """The SMTP server accepted the mail: delete it, and its code with it (audited "mail_sent").
        False if there was no such mail (sent before)."""
        when = time.time() if at is None else at
        with self._write("record a sent mail") as connection:
            row = _mail_row(connection, mail_id)
            if row is None:
                return False
            connection.execute("DELETE FROM mail_queue WHERE id = ?", (mail_id,))
            _audit(connection, "mail_sent", when, row["parcel_id"],
                   {"mail_id": mail_id, "resident_id": row["resident_id"], "attempts": row["attempts"] + 1})
            return True

    def mail_failed(self, mail_id: int, error: str, retry_at: float | None, at: float | None = None) -> bool:
        """An attempt failed: attempts + 1 and the error (one line, shortened) kept. `retry_at`: when to
        try again; None holds the mail for good (the server refused it permanently; audited "mail_held").
        False if there was no such mail."""
        when = time.time() if at is None else at
        message = _one_line(error)
        if retry_at is not None and (isinstance(retry_at, bool) or not isinstance(retry_at, int | float)):
            raise StoreError(f"retry_at must be a time or None, not {retry_at!r}")
        with self._write("record a failed mail") as connection:
            row = _mail_row(connection, mail_id)
            if row is None:
                return False
            connection.execute(
                "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?, last_attempt_at = ?, "
                "held = ?, next_attempt_at = ? WHERE id = ?",
                (message, when, int(retry_at is None), retry_at, mail_id))
            if retry_at is None:
                _audit(connection, "mail_held", when, row["parcel_id"],
                       {"mail_id": mail_id, "resident_id": row["resident_id"], "error": message})
            return True

    def mail_release(self, mail_id: int, at: float) -> bool:
        """Try a held mail again from `at` (after the address or the server was fixed); audited. False if
        there is no such mail or it is not held."""
        with self._write("release a held mail") as connection:
            released = connection.execute(
                "UPDATE mail_queue SET held = 0, next_attempt_at = ? WHERE id = ? AND held = 1",
                (at, _mail_id(mail_id))).rowcount > 0
            if released:
                row = _mail_row(connection, mail_id)
                assert row is not None
                _audit(connection, "mail_released", at, row["parcel_id"],
                       {"mail_id": mail_id, "resident_id": row["resident_id"]})
            return released

    def mail_discard_stale(self, at: float) -> int:
        """Delete the mails (held or not) whose parcel is no longer in the locker: its code opens nothing
        now, and keeping it would keep a code in clear for nothing. Audited per mail; returns how many."""
        with self._write("discard stale mails") as connection:
            rows = connection.execute(
                "SELECT m.id, m.parcel_id, m.resident_id FROM mail_queue AS m WHERE NOT EXISTS "
                "(SELECT 1 FROM parcels AS p WHERE p.id = m.parcel_id AND p.state = 'in_locker')").fetchall()
            for row in rows:
                connection.execute("DELETE FROM mail_queue WHERE id = ?", (row["id"],))
                _audit(connection, "mail_discarded", at, row["parcel_id"],
                       {"mail_id": row["id"], "resident_id": row["resident_id"],
                        "reason": "the parcel is no longer in the locker"})
            return len(rows)

    def mail_depth(self) -> int:
        """How many mails wait, held ones included."""
        with self._read("read the mail queue depth") as connection:
            return int(connection.execute("SELECT count(*) FROM mail_queue").fetchone()[0])

    def mail_held(self) -> Sequence[QueuedMail]:
        """The mails the SMTP server refused for good, oldest first (for the service screen and the CLI)."""
        with self._read("read the held mails") as connection:
            rows = connection.execute(
                f"SELECT {_MAIL_COLUMNS} FROM mail_queue AS m JOIN residents AS r ON r.id = m.resident_id "
                "WHERE m.held = 1 ORDER BY m.queued_at, m.id").fetchall()
        return [_queued_mail(row) for row in rows]

    def mail_next_attempt_at(self) -> float | None:
        """When the next mail that is not held is due; None when none waits."""
        with self._read("read the mail queue") as connection:
            row = connection.execute(
                "SELECT min(next_attempt_at) FROM mail_queue WHERE held = 0").fetchone()
        return None if row[0] is None else float(row[0])


# helpers ------------------------------------------------------------------------------------------------

def _checked_rows(rows: Iterable[ResidentRow]) -> list[ResidentRow]:
    if isinstance(rows, str | bytes):
        raise StoreError("rows must be a collection of ResidentRow, not text")
    try:
        items = list(rows)
    except TypeError:
        raise StoreError(f"rows must be a collection of ResidentRow, not {type(rows).__name__}") from None
    if not items:
        raise StoreError("an import of no residents would empty the directory: refused")
    seen: dict[str, ResidentRow] = {}
    for index, row in enumerate(items):
        where = f"line {row.line}" if isinstance(row, ResidentRow) and row.line else f"row {index + 1}"
        if not isinstance(row, ResidentRow):
            raise StoreError(f"{where}: expected a ResidentRow, not {type(row).__name__}")
        problem = resident_row_problem(row)
        if problem is not None:
            raise StoreError(f"{where}: {problem}")
        earlier = seen.setdefault(row.email.casefold(), row)
        if earlier is not row:
            first = f"line {earlier.line}" if earlier.line else "an earlier row"
            raise StoreError(f"{where}: email {row.email} is also on {first}")
    return items


def _match_new_addresses(pairs: list[tuple[ResidentRow, Resident | None]],
                         unmatched: list[Resident]) -> list[tuple[ResidentRow, Resident | None]]:
    """Rows with a new address take over the resident the file no longer names who has the same name and
    unit, when exactly one row and exactly one resident share them."""
    residents_at: dict[tuple[str, str], list[Resident]] = {}
    for candidate in unmatched:
        residents_at.setdefault((_folded(candidate.name), _folded(candidate.unit)), []).append(candidate)
    rows_at: dict[tuple[str, str], int] = {}
    for row, known in pairs:
        if known is None:
            place = (_folded(row.name), _folded(row.unit))
            rows_at[place] = rows_at.get(place, 0) + 1
    matched: list[tuple[ResidentRow, Resident | None]] = []
    for row, known in pairs:
        if known is None:
            place = (_folded(row.name), _folded(row.unit))
            candidates = residents_at.get(place, [])
            if rows_at[place] == 1 and len(candidates) == 1:
                known = candidates[0]
        matched.append((row, known))
    return matched


def _has_parcel_in_locker(connection: sqlite3.Connection, resident_id: int) -> bool:
    row = connection.execute(
        "SELECT 1 FROM resident_parcels AS rp JOIN parcels AS p ON p.id = rp.parcel_id "
        f"WHERE rp.resident_id = ? AND p.state IN {_IN_LOCKER_SQL} LIMIT 1", (resident_id,)).fetchone()
    return row is not None


def _check_notice(notice: object) -> None:
    if not isinstance(notice, PickupNotice):
        raise StoreError(f"expected a PickupNotice, not {type(notice).__name__}")
    _resident_id(notice.resident_id)
    for name in ("parcel_id", "compartment_id", "locker_name"):
        value = getattr(notice, name)
        if not isinstance(value, str) or not value.strip():
            raise StoreError(f"a pickup notice's {name} must be non-empty text, not {value!r}")
    if not isinstance(notice.code, str) or not _CODE.fullmatch(notice.code):
        raise StoreError(f"the pickup notice for parcel {notice.parcel_id} has no 6-8 digit code")
    if not isinstance(notice.size, Size):
        raise StoreError(f"a pickup notice's size must be a Size, not {notice.size!r}")


def _resident_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StoreError(f"a resident id is a whole number >= 1, not {value!r}")
    return value


def _mail_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StoreError(f"a mail id is a whole number >= 1, not {value!r}")
    return value


def _check_limit(limit: object, what: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise StoreError(f"{what} limit must be a whole number >= 0, not {limit!r}")


def _row_id(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:
        raise StoreError("SQLite returned no id for a new row")
    return cursor.lastrowid


def _resident_row(connection: sqlite3.Connection, resident_id: int) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        f"SELECT {_RESIDENT_COLUMNS} FROM residents WHERE id = ?", (resident_id,)).fetchone()
    if row is None:
        raise StoreError(f"no resident {resident_id!r}")
    return row


def _mail_row(connection: sqlite3.Connection, mail_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(
        "SELECT id, resident_id, parcel_id, attempts FROM mail_queue WHERE id = ?",
        (_mail_id(mail_id),)).fetchone()
    return row


def _resident(row: sqlite3.Row) -> Resident:
    return Resident(row["id"], row["name"], row["unit"], row["email"], row["language"], row["phone"],
                    bool(row["active"]))


def _queued_mail(row: sqlite3.Row) -> QueuedMail:
    notice = PickupNotice(row["resident_id"], row["parcel_id"], row["code"], row["compartment_id"],
                          Size(row["size"]), row["locker_name"])
    resident = Resident(row["resident_id"], row["name"], row["unit"], row["email"], row["language"],
                        row["phone"], bool(row["active"]))
    return QueuedMail(row["mail_id"], notice, resident, row["queued_at"], row["attempts"], row["last_error"],
                      row["last_attempt_at"], None if row["held"] else row["next_attempt_at"],
                      bool(row["waiting"]))


def _one_line(error: object) -> str:
    text = " ".join(str(error).split()) or "unknown error"
    if len(text) > MAIL_ERROR_MAX_CHARS:
        text = text[:MAIL_ERROR_MAX_CHARS - 1] + "…"
    return text


def _audit(connection: sqlite3.Connection, kind: str, at: float, parcel_id: str | None,
           details: dict[str, object]) -> None:
    """An audit entry as SqliteStore writes them; details carry ids and counts, never an address or a code."""
    connection.execute(
        "INSERT INTO audit (at, kind, compartment_id, parcel_id, details) VALUES (?, ?, NULL, ?, ?)",
        (at, kind, parcel_id, json.dumps(details, sort_keys=True)))
