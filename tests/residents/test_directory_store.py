"""The resident directory and the mail queue in a real SQLite file (kiosk.store.residents): full imports
add, update, keep and remove as a building manager expects, every method is one transaction, and a
pickup code lives in the database only until its mail is sent or moot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from directory_rig import (
    LOCKER_ID,
    T0,
    DirectoryStore,
    deposit,
    deposit_for,
    notice,
    open_store,
    pick_up,
    row,
)

from kiosk.core.model import Size
from kiosk.store import StoreError
from kiosk.store.residents import (
    PickupNotice,
    Resident,
    ResidentRow,
    email_problem,
    language_code,
    natural_key,
)

ANNA = row("Anna Müller", "3B", "anna@example.de", "de", "+49 30 1234567")
BOB = row("Bob Smith", "10", "bob@example.com")
CARL = row("Carl Weiß", "2", "carl@weiss.example", "en")


def audit_kinds(store: DirectoryStore) -> list[str]:
    return [entry.kind for entry in store.audit_log()]


def raw_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


# importing ------------------------------------------------------------------------------------------------

def test_a_first_import_adds_everyone_and_the_same_import_again_changes_nothing(
        store: DirectoryStore) -> None:
    first = store.replace_residents([ANNA, BOB, CARL], T0)
    assert [resident.name for resident in first.added] == ["Anna Müller", "Bob Smith", "Carl Weiß"]
    assert first.changed and (first.unchanged, first.removed, first.kept) == (0, (), ())
    assert audit_kinds(store).count("residents_imported") == 1
    again = store.replace_residents([ANNA, BOB, CARL], T0 + 10)
    assert not again.changed
    assert (again.added, again.updated, again.unchanged, again.removed) == ((), (), 3, ())
    assert audit_kinds(store).count("residents_imported") == 1  # nothing written
    assert [r.unit for r in store.residents()] == ["2", "3B", "10"]  # flats in the order people count them


def test_changes_are_updates_of_the_same_resident(store: DirectoryStore) -> None:
    anna = store.replace_residents([ANNA, BOB], T0).added[0]
    moved = row("Anna Müller-Lang", "4A", "ANNA@example.de", None, None)
    result = store.replace_residents([moved, BOB], T0 + 10)
    assert result.updated == (
        Resident(anna.id, "Anna Müller-Lang", "4A", "ANNA@example.de", None, None, True),)
    assert result.unchanged == 1 and not result.added and not result.removed
    assert store.resident(anna.id).unit == "4A"


def test_a_new_address_with_the_same_name_and_unit_is_the_same_resident(store: DirectoryStore) -> None:
    anna = store.replace_residents([ANNA, BOB], T0).added[0]
    result = store.replace_residents([row("Anna Müller", "3B", "anna.mueller@example.de", "de"), BOB], T0 + 1)
    assert [resident.id for resident in result.updated] == [anna.id]
    assert store.resident(anna.id).email == "anna.mueller@example.de"
    assert not result.added and not result.removed


def test_two_new_rows_with_the_same_name_and_unit_are_not_guessed(store: DirectoryStore) -> None:
    store.replace_residents([row("Kim Lee", "7", "kim@example.com")], T0)
    result = store.replace_residents([row("Kim Lee", "7", "kim.a@example.com"),
                                      row("Kim Lee", "7", "kim.b@example.com")], T0 + 1)
    assert len(result.added) == 2 and len(result.removed) == 1


def test_a_resident_missing_from_the_import_is_removed(store: DirectoryStore) -> None:
    store.replace_residents([ANNA, BOB], T0)
    result = store.replace_residents([ANNA], T0 + 10)
    assert [resident.email for resident in result.removed] == ["bob@example.com"]
    assert [resident.email for resident in store.residents()] == ["anna@example.de"]


def test_a_resident_with_a_parcel_in_the_locker_is_kept_inactive_until_it_is_picked_up(
        store: DirectoryStore) -> None:
    bob = store.replace_residents([ANNA, BOB], T0).added[1]
    deposit_for(store, bob.id, "P-1", "01")
    result = store.replace_residents([ANNA], T0 + 10)
    assert [resident.id for resident in result.kept] == [bob.id] and not result.removed
    assert result.changed
    assert not store.resident(bob.id).active
    assert store.find_residents("Bob") == []  # drop-off no longer offers them
    again = store.replace_residents([ANNA], T0 + 20)
    assert [resident.id for resident in again.kept] == [bob.id] and not again.changed  # still reported
    pick_up(store, "P-1")
    finally_gone = store.replace_residents([ANNA], T0 + 30)
    assert [resident.id for resident in finally_gone.removed] == [bob.id]
    with pytest.raises(StoreError, match=f"no resident {bob.id}"):
        store.resident(bob.id)


def test_a_kept_resident_who_comes_back_is_active_again(store: DirectoryStore) -> None:
    bob = store.replace_residents([ANNA, BOB], T0).added[1]
    deposit_for(store, bob.id, "P-1", "01")
    store.replace_residents([ANNA], T0 + 10)
    result = store.replace_residents([ANNA, BOB], T0 + 20)
    assert [resident.id for resident in result.updated] == [bob.id]
    assert store.resident(bob.id).active


def test_residents_named_by_skipped_lines_are_spared(store: DirectoryStore) -> None:
    store.replace_residents([ANNA, BOB, CARL], T0)
    result = store.replace_residents([ANNA], T0 + 10, spare=[("", "", "BOB@example.com"),
                                                             ("Carl  Weiss", "2", "carl@@typo")])
    assert sorted(resident.name for resident in result.spared) == ["Bob Smith", "Carl Weiß"]
    assert not result.removed and not result.changed
    assert len(store.residents()) == 3


@pytest.mark.parametrize(("rows", "message"), [
    ([], "an import of no residents would empty the directory: refused"),
    ([ANNA, row("Anna Two", "5", "Anna@Example.de")],
     "row 2: email Anna@Example.de is also on an earlier row"),
    ([ResidentRow("Dora", "9", "dora@example.com", line=4),
      ResidentRow("Dora Z", "9", "DORA@example.com", line=7)],
     "line 7: email DORA@example.com is also on line 4"),
    ([row("", "1", "x@example.com")], "row 1: name is empty"),
    ([row("Eve", "1\n2", "eve@example.com")],
     "row 1: unit contains a line break or another control character"),
    ([row("Eve", "1", "eve@example")], "row 1: email 'eve@example' is not an e-mail address: the domain "
                                       "'example' has no dot"),
    ([row("Eve", "1", "eve@example.com", "fr")], "row 1: language 'fr' is not one of: en, de"),
    ([row("Eve", "1", "eve@example.com", None, "call me")], "row 1: phone 'call me' is not a phone number"),
    (["not a row"], "row 1: expected a ResidentRow, not str"),
    ("anna@example.de", "rows must be a collection of ResidentRow, not text"),
])
def test_a_bad_import_is_refused_whole(store: DirectoryStore, rows: list[ResidentRow], message: str) -> None:
    store.replace_residents([BOB], T0)
    with pytest.raises(StoreError) as raised:
        store.replace_residents(rows, T0 + 1)
    assert str(raised.value).startswith(message)
    assert [resident.email for resident in store.residents()] == ["bob@example.com"]


def test_the_directory_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite"
    with open_store(path) as store:
        store.replace_residents([ANNA, BOB], T0)
    with open_store(path) as reopened:
        assert [resident.email for resident in reopened.residents()] == ["anna@example.de", "bob@example.com"]
        assert not reopened.replace_residents([ANNA, BOB], T0 + 1).changed


# finding ------------------------------------------------------------------------------------------------

def test_find_by_unit_or_name_best_first_ignoring_case_and_accents(store: DirectoryStore) -> None:
    store.replace_residents([
        row("Anna Müller", "12", "anna@example.de"), row("Ben Mueller", "1", "ben@example.de"),
        row("Cem Özdemir", "120", "cem@example.de"), row("Dana Twelve", "3", "dana@example.de"),
        row("Emil Sohn", "112", "emil@example.de")], T0)
    assert [r.name for r in store.find_residents("12")] == ["Anna Müller", "Cem Özdemir", "Emil Sohn"]
    assert [r.name for r in store.find_residents("muller")] == ["Anna Müller"]
    assert [r.name for r in store.find_residents("MUE")] == ["Ben Mueller"]
    assert [r.name for r in store.find_residents("oz")] == ["Cem Özdemir"]
    assert [r.name for r in store.find_residents("  tw ")] == ["Dana Twelve"]
    assert [r.name for r in store.find_residents("ohn")] == ["Emil Sohn"]
    assert store.find_residents("") == [] and store.find_residents("   ") == []
    assert len(store.find_residents("e", limit=2)) == 2
    with pytest.raises(StoreError):
        store.find_residents(12)  # type: ignore[arg-type]


# the mail queue -----------------------------------------------------------------------------------------

def test_a_queued_notice_is_due_at_once_and_sent_mail_takes_its_code_with_it(store: DirectoryStore) -> None:
    anna = store.replace_residents([ANNA], T0).added[0]
    mail_id = deposit_for(store, anna.id, "P-1", "03", code="40917733", at=T0 + 5)
    assert store.mail_depth() == 1 and store.mail_next_attempt_at() == T0 + 5
    assert store.mail_batch(10, T0 + 4) == []
    [mail] = store.mail_batch(10, T0 + 5)
    assert (mail.id, mail.notice, mail.resident, mail.attempts, mail.held, mail.parcel_waiting) == (
        mail_id, PickupNotice(anna.id, "P-1", "40917733", "03", Size.S, LOCKER_ID), anna, 0, False, True)
    assert "40917733" not in repr(mail)  # nothing logs a code
    assert store.mail_sent(mail_id, at=T0 + 6)
    assert not store.mail_sent(mail_id)  # twice is harmless
    assert store.mail_depth() == 0 and store.mail_next_attempt_at() is None
    assert raw_rows(store.path, "SELECT count(*) FROM mail_queue WHERE code = '40917733'") == [(0,)]
    assert "mail_sent" in audit_kinds(store)
    assert all("40917733" not in str(entry.details) for entry in store.audit_log())


def test_failures_are_kept_with_their_error_and_a_held_mail_waits_for_a_release(
        store: DirectoryStore) -> None:
    anna, bob = store.replace_residents([ANNA, BOB], T0).added
    first = deposit_for(store, anna.id, "P-1", "01")
    second = deposit_for(store, bob.id, "P-2", "02")
    assert store.mail_failed(first, "451 try\nlater", T0 + 300, at=T0 + 1)
    assert store.mail_failed(second, "550 5.1.1 no such mailbox", None, at=T0 + 1)
    assert store.mail_batch(10, T0 + 299) == []
    [due] = store.mail_batch(10, T0 + 300)
    assert (due.id, due.attempts, due.last_error, due.last_attempt_at) == (first, 1, "451 try later", T0 + 1)
    [held] = store.mail_held()
    assert (held.id, held.held, held.last_error) == (second, True, "550 5.1.1 no such mailbox")
    assert store.mail_next_attempt_at() == T0 + 300  # a held mail is due never
    assert store.mail_depth() == 2
    assert "mail_held" in audit_kinds(store)
    assert store.mail_release(second, T0 + 400)
    assert not store.mail_release(second, T0 + 400)  # not held any more
    assert [mail.id for mail in store.mail_batch(10, T0 + 400)] == [first, second]
    assert not store.mail_failed(999, "x", None)


def test_a_corrected_address_releases_the_residents_held_mails(store: DirectoryStore) -> None:
    anna = store.replace_residents([row("Anna Müller", "3B", "anna@exmaple.de")], T0).added[0]
    mail_id = deposit_for(store, anna.id, "P-1", "01")
    store.mail_failed(mail_id, "550 no such domain", None, at=T0 + 1)
    result = store.replace_residents([row("Anna Müller", "3B", "anna@example.de")], T0 + 100)
    assert result.released_mails == 1 and [r.id for r in result.updated] == [anna.id]
    [mail] = store.mail_batch(10, T0 + 100)
    assert mail.id == mail_id and mail.resident.email == "anna@example.de"


def test_mails_for_parcels_that_left_the_locker_are_discarded(store: DirectoryStore) -> None:
    anna, bob = store.replace_residents([ANNA, BOB], T0).added
    gone = deposit_for(store, anna.id, "P-1", "01", code="111111")
    held = deposit_for(store, bob.id, "P-2", "02", code="222222")
    waiting = deposit_for(store, bob.id, "P-3", "03", code="333333")
    store.mail_failed(held, "550 no", None)
    pick_up(store, "P-1")
    pick_up(store, "P-2")
    assert {mail.id: mail.parcel_waiting for mail in store.mail_batch(10, T0 + 100)} == {gone: False,
                                                                                        waiting: True}
    assert store.mail_discard_stale(T0 + 100) == 2
    assert [mail.id for mail in store.mail_batch(10, T0 + 100)] == [waiting] and store.mail_held() == []
    assert raw_rows(store.path, "SELECT code FROM mail_queue") == [("333333",)]
    assert audit_kinds(store).count("mail_discarded") == 2


@pytest.mark.parametrize(("bad", "message"), [
    (notice(99, "P-1", "01"), "no resident 99 to notify of parcel P-1"),
    (notice(1, "P-404", "01"), "no parcel 'P-404' to notify resident 1 of"),
    (notice(1, "P-1", "01", code="12345"), "the pickup notice for parcel P-1 has no 6-8 digit code"),
    (notice(1, "P-1", "01", code="12345a"), "the pickup notice for parcel P-1 has no 6-8 digit code"),
    (PickupNotice(1, "P-1", "123456", "01", "S", LOCKER_ID),  # type: ignore[arg-type]
     "a pickup notice's size must be a Size"),
    (PickupNotice(1, "P-1", "123456", "01", Size.S, " "), "a pickup notice's locker_name must be non-empty"),
    (PickupNotice(True, "P-1", "123456", "01", Size.S, LOCKER_ID),  # type: ignore[arg-type]
     "a resident id is a whole number >= 1"),
])
def test_a_bad_notice_is_refused_and_writes_nothing(store: DirectoryStore, bad: PickupNotice,
                                                   message: str) -> None:
    store.replace_residents([ANNA], T0)
    deposit(store, "P-1", "01")
    with pytest.raises(StoreError) as raised:
        store.queue_pickup_notice(bad, T0)
    assert str(raised.value).startswith(message)
    assert store.mail_depth() == 0


def test_the_notice_commits_or_rolls_back_with_the_callers_transaction(store: DirectoryStore) -> None:
    """place_parcel calls _queue_pickup_notice inside its own transaction: a failure after it undoes both."""
    anna = store.replace_residents([ANNA], T0).added[0]
    deposit(store, "P-1", "01")
    with pytest.raises(RuntimeError), store._write("deposit and notify") as connection:
        store._queue_pickup_notice(connection, notice(anna.id, "P-1", "01"), T0)
        raise RuntimeError("the deposit failed after the notice was written")
    assert store.mail_depth() == 0
    assert raw_rows(store.path, "SELECT count(*) FROM resident_parcels") == [(0,)]
    with store._write("deposit and notify") as connection:
        store._queue_pickup_notice(connection, notice(anna.id, "P-1", "01"), T0)
    assert store.mail_depth() == 1


def test_removing_a_resident_takes_their_data_with_them(store: DirectoryStore) -> None:
    anna = store.replace_residents([ANNA, BOB], T0).added[0]
    deposit_for(store, anna.id, "P-1", "01")
    pick_up(store, "P-1")  # picked up before the mail went: the mail is moot
    store.replace_residents([BOB], T0 + 100)
    assert raw_rows(store.path, "SELECT count(*) FROM mail_queue") == [(0,)]
    assert raw_rows(store.path, "SELECT count(*) FROM resident_parcels") == [(0,)]
    assert raw_rows(store.path, "SELECT count(*) FROM residents WHERE email LIKE 'anna%'") == [(0,)]


def test_the_mail_queue_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite"
    with open_store(path) as store:
        anna = store.replace_residents([ANNA], T0).added[0]
        mail_id = deposit_for(store, anna.id, "P-1", "01")
        store.mail_failed(mail_id, "timeout", T0 + 30, at=T0 + 1)
    with open_store(path) as reopened:
        [mail] = reopened.mail_batch(5, T0 + 30)
        assert (mail.id, mail.attempts, mail.last_error, mail.notice.code) == (
            mail_id, 1, "timeout", "482913")


def test_bad_arguments_are_store_errors(store: DirectoryStore) -> None:
    for call in (lambda: store.mail_batch(-1, T0), lambda: store.mail_sent(0),
                 lambda: store.mail_failed(1, "x", "soon"),  # type: ignore[arg-type]
                 lambda: store.resident("1")):  # type: ignore[arg-type]
        with pytest.raises(StoreError):
            call()


# the rules shared with the import and the configuration -------------------------------------------------

@pytest.mark.parametrize(("address", "problem"), [
    ("anna@example.de", None),
    ("anna.m+locker@mail.example.co.uk", None),
    ("bob@müller.de", None),
    ("o'brien@example.ie", None),
    ("", "it is empty"),
    ("anna example.de", "it contains a space"),
    ("anna.example.de", "it has no @"),
    ("anna@@example.de", "it has more than one @"),
    ("@example.de", "nothing before the @"),
    ("anna@", "no domain after the @"),
    ("anna..m@example.de", "the part before the @ has a character or dot out of place"),
    ("jörg@example.de", "the part before the @ must be plain ASCII"),
    ("anna@localhost", "the domain 'localhost' has no dot"),
    ("anna@exa_mple.de", "the domain 'exa_mple.de' has a character or dot out of place"),
    ("anna@example.123", "the domain 'example.123' does not end in a top-level domain"),
    ("a" * 65 + "@example.de", "the part before the @ is longer than 64 characters"),
])
def test_email_addresses(address: str, problem: str | None) -> None:
    found = email_problem(address)
    assert found == problem if problem is None else (found or "").startswith(problem)


def test_language_codes_and_natural_order() -> None:
    texts = ("de", "DE", "de-AT", "en_GB", "Deutsch", "english", "fr", "")
    assert [language_code(text) for text in texts] == ["de", "de", "de", "en", "de", "en", None, None]
    assert sorted(["10", "2", "2b", "2a", "B1", "a3"], key=natural_key) == ["2", "2a", "2b", "10", "a3", "B1"]
