"""kill -9 at the worst moment: a committed door-journal step must be there after a restart, and every state
change must be there with its outbox event, or neither."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.model import Compartment, CompartmentState, DoorPurpose, JournalPhase, ParcelState, Size
from kiosk.store import SqliteStore

LAYOUT = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from kiosk.core.model import Compartment, DoorPurpose, JournalPhase, Size
    from kiosk.store import SqliteStore

    layout = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
    store = SqliteStore.open(sys.argv[1], layout)
    first = store.journal_intent("A01", DoorPurpose.PICKUP, ["P1"], 10.0)
    store.journal_advance(first.id, JournalPhase.UNLOCK_SENT, 11.0)
    second = store.journal_intent("A02", DoorPurpose.PICKUP, ["P2"], 12.0)
    print(first.id, second.id, flush=True)
    sys.stdin.readline()  # hold the connection open (WAL not checkpointed) until killed
    """
)


def test_journal_steps_survive_sigkill(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, LAYOUT) as store:
        store.place_parcel("P1", Size.S, "A01", "Ada", b"\x01" * 32, 1.0)
        store.place_parcel("P2", Size.S, "A02", "Bob", b"\x02" * 32, 2.0)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(database)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, f"the child failed: {child.stderr.read() if child.stderr else ''}"
        first_id, second_id = (int(number) for number in line.split())
    finally:
        child.kill()  # SIGKILL: no atexit, no close, no checkpoint
        child.communicate(timeout=30)
    assert child.returncode == -9

    with SqliteStore.open(database, LAYOUT) as store:
        unfinished = store.unfinished_journal()
        assert [(entry.id, entry.compartment_id, entry.purpose, entry.parcel_ids, entry.phase)
                for entry in unfinished] == [
            (first_id, "A01", DoorPurpose.PICKUP, ("P1",), JournalPhase.UNLOCK_SENT),
            (second_id, "A02", DoorPurpose.PICKUP, ("P2",), JournalPhase.INTENT),
        ]
        assert store.parcel("P1").state is ParcelState.IN_LOCKER
        assert store.compartment("A01").state is CompartmentState.OCCUPIED
        assert [entry.kind for entry in store.audit_log(limit=3)] == [
            "door_intent", "door_unlock_sent", "door_intent"]


# kill -9 in the middle of busy work: every state change with its outbox event, or neither -------------------

BUSY_CHILD = textwrap.dedent(
    """
    import random
    import sqlite3
    import sys
    from kiosk.core.model import Compartment, CompartmentState, DoorPurpose, JournalPhase, ProblemKind, Size
    from kiosk.store import SqliteStore

    layout = tuple(Compartment(f"C{n}", Size.M, 0, n, 100, 1) for n in range(1, 7))
    database, alarm_depth, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = SqliteStore.open(database, layout, outbox_alarm_depth=alarm_depth)
    reader = sqlite3.connect(database, isolation_level=None)
    rng = random.Random(seed)
    for entry in store.unfinished_journal():  # what reconciliation would do with a door never seen open
        store.journal_cancel(entry.id, "never_sent", 0.0)
    step = 0
    while True:
        step += 1
        now = float(seed * 100_000 + step)
        broken = [s.compartment.id for s in store.compartments() if s.state is CompartmentState.OUT_OF_ORDER]
        held = reader.execute("SELECT id, compartment_id FROM parcels WHERE state = 'in_locker'").fetchall()
        free = [s.compartment.id for s in store.free_compartments()]
        choice = rng.random()
        if broken and choice < 0.1:
            store.return_to_service(rng.choice(broken), now)
        elif free and (choice < 0.45 or not held):
            store.place_parcel(f"P{seed}-{step}", Size.S, rng.choice(free), "Ada", b"\\x01" * 32, now)
        elif held and choice < 0.9:
            parcel_id, compartment_id = rng.choice(held)
            entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], now)
            store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, now)
            if rng.random() < 0.8:
                store.journal_advance(entry.id, JournalPhase.OPENED, now)
                store.journal_complete_pickup(entry.id, now)
            else:
                store.journal_fault(entry.id, "door_did_not_open", now)
        else:
            known = reader.execute("SELECT id FROM parcels ORDER BY random() LIMIT 2").fetchall()
            store.report_problem(rng.choice(list(ProblemKind)), [row[0] for row in known], now)
        print(step, flush=True)
    """
)


def _rows(connection: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(sql).fetchall()]


def assert_every_change_has_its_event(database: Path, alarm_depth: int) -> int:
    """The outbox and the state it reports agree exactly (nothing is acknowledged in these runs);
    returns the number of events."""
    connection = sqlite3.connect(database)
    try:
        def column(sql: str) -> list[Any]:
            return sorted(row[0] for row in _rows(connection, sql))

        def events(kind: str) -> list[tuple[Any, ...]]:
            return _rows(connection,
                         f"SELECT parcel_id, compartment_id, details FROM outbox WHERE kind = '{kind}'")

        deposited = sorted(parcel for parcel, _, _ in events("deposited"))
        assert deposited == column("SELECT id FROM parcels")
        assert deposited == column("SELECT parcel_id FROM audit WHERE kind = 'parcel_placed'")

        picked = sorted((parcel, json.loads(details)["journal_id"])
                        for parcel, _, details in events("picked_up"))
        completed = sorted((json.loads(ids)[0], entry_id) for entry_id, ids in _rows(
            connection, "SELECT id, parcel_ids FROM door_journal WHERE phase = 'completed'"))
        assert picked == completed
        assert [parcel for parcel, _ in picked] == column("SELECT id FROM parcels WHERE state = 'picked_up'")

        faults = sorted(json.loads(details)["journal_id"] for _, _, details in events("door_fault"))
        assert faults == column("SELECT id FROM door_journal WHERE phase = 'fault'")

        def problems(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            return sorted((parcel, compartment, json.loads(details)["problem"])
                          for parcel, compartment, details in rows)

        assert problems(events("problem_report")) == problems(_rows(
            connection,
            "SELECT parcel_id, compartment_id, details FROM audit WHERE kind = 'problem_reported'"))

        ((depth, alarm_raised),) = _rows(connection, "SELECT depth, backlog_alarm FROM outbox_state")
        ((count, distinct_keys),) = _rows(
            connection, "SELECT count(*), count(DISTINCT idempotency_key) FROM outbox")
        assert depth == count == distinct_keys
        alarms = [json.loads(details) for _, _, details in events("alarm")]
        assert alarm_raised == (depth >= alarm_depth)  # nothing is acknowledged, so nothing clears
        assert [(alarm["state"], alarm["threshold"]) for alarm in alarms] == (
            [("raised", alarm_depth)] if alarm_raised else [])
        return int(depth)
    finally:
        connection.close()


def test_after_sigkill_no_state_change_lacks_its_event_and_no_event_its_change(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    alarm_depth = 60
    depth = 0
    for seed, steps_before_kill in enumerate((15, 30, 45, 25), start=1):
        child = subprocess.Popen(
            [sys.executable, "-c", BUSY_CHILD, str(database), str(alarm_depth), str(seed)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        try:
            assert child.stdout is not None
            for _ in range(steps_before_kill):
                line = child.stdout.readline()
                assert line, f"the child failed: {child.stderr.read() if child.stderr else ''}"
        finally:
            child.kill()  # SIGKILL while it keeps writing: the kill lands wherever it happens to be
            child.communicate(timeout=30)
        assert child.returncode == -9
        previous, depth = depth, assert_every_change_has_its_event(database, alarm_depth)
        assert depth >= previous + steps_before_kill // 2  # every round added work (a restore adds none)
    assert depth >= alarm_depth  # the alarm was raised along the way, exactly once


# kill -9 exactly between the state change and the commit ----------------------------------------------------

DYING_CHILD = textwrap.dedent(
    """
    import json
    import os
    import signal
    import sys
    from kiosk.core.model import Compartment, ProblemKind, Size
    from kiosk.store import SqliteStore

    layout = tuple(Compartment(f"C{n}", Size.M, 0, n, 100, 1) for n in range(1, 7))
    database, order = sys.argv[1], json.loads(sys.argv[2])
    store = SqliteStore.open(database, layout, outbox_alarm_depth=order["alarm_depth"])
    connection = store._connection
    connection.create_function("die", 0, lambda: os.kill(os.getpid(), signal.SIGKILL))
    # A temporary trigger of this connection only: the process dies inside the store's own transaction,
    # after the statement named, before COMMIT.
    connection.execute(f"CREATE TEMP TRIGGER die_here AFTER {order['event']} ON main.{order['table']} "
                       f"WHEN {order['when']} BEGIN SELECT die(); END")
    operation, at = order["operation"], 5000.0
    if operation == "place":
        store.place_parcel("NEW", Size.S, "C3", "Eve", b"\\x03" * 32, at)
    elif operation == "complete":
        store.journal_complete_pickup(order["entry"], at)
    elif operation == "fault":
        store.journal_fault(order["entry"], "door_did_not_open", at)
    elif operation == "report":
        store.report_problem(ProblemKind.DAMAGED, ["P1", "P2"], at)
    elif operation == "acknowledge":
        store.outbox_acknowledge([event.idempotency_key for event in store.outbox_batch(100)], at)
    print("survived", flush=True)
    """
)
DYING_LAYOUT = tuple(Compartment(f"C{n}", Size.M, 0, n, 100, 1) for n in range(1, 7))


def everything(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    connection = sqlite3.connect(database)
    try:
        names = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: _rows(connection, f"SELECT * FROM {name} ORDER BY 1") for name in names}
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("operation", "table", "event", "when", "crosses_alarm"),
    [
        ("place", "outbox", "INSERT", "NEW.kind = 'deposited'", False),
        ("place", "outbox_state", "UPDATE", "NEW.backlog_alarm = 1", True),  # the alarm the deposit raises
        ("complete", "outbox", "INSERT", "NEW.kind = 'picked_up'", False),
        ("complete", "audit", "INSERT", "NEW.kind = 'door_closed'", False),  # after the event
        ("fault", "outbox", "INSERT", "NEW.kind = 'door_fault'", False),
        ("report", "outbox", "INSERT", "NEW.parcel_id = 'P2'", False),  # the second parcel's event
        ("acknowledge", "outbox", "DELETE", "1", False),
    ],
)
def test_sigkill_between_the_change_and_the_commit_leaves_neither(
    tmp_path: Path, operation: str, table: str, event: str, when: str, crosses_alarm: bool
) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, DYING_LAYOUT) as store:
        store.place_parcel("P1", Size.S, "C1", "Ada", b"\x01" * 32, 1.0)
        store.place_parcel("P2", Size.S, "C2", "Bob", b"\x02" * 32, 2.0)
        to_complete = store.journal_intent("C1", DoorPurpose.PICKUP, ["P1"], 3.0)
        store.journal_advance(to_complete.id, JournalPhase.UNLOCK_SENT, 4.0)
        store.journal_advance(to_complete.id, JournalPhase.OPENED, 5.0)
        to_fault = store.journal_intent("C2", DoorPurpose.PICKUP, ["P2"], 6.0)
        store.journal_advance(to_fault.id, JournalPhase.UNLOCK_SENT, 7.0)
        depth = store.outbox_depth()
    alarm_depth = depth + 1 if crosses_alarm else 1000
    entry = to_fault.id if operation == "fault" else to_complete.id
    order = {"operation": operation, "table": table, "event": event, "when": when, "entry": entry,
             "alarm_depth": alarm_depth}
    before = everything(database)

    child = subprocess.run(
        [sys.executable, "-c", DYING_CHILD, str(database), json.dumps(order)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert child.returncode == -9, f"the child did not die where it should: {child.stdout} {child.stderr}"
    assert everything(database) == before  # nothing of the killed transaction is there
    assert_every_change_has_its_event(database, alarm_depth)

    # The same operation after the restart commits whole, with its event.
    order["when"] = "0"  # the trap stays armed but never springs
    child = subprocess.run(
        [sys.executable, "-c", DYING_CHILD, str(database), json.dumps(order)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert child.stdout == "survived\n", child.stderr
    after = everything(database)
    assert after != before
    if operation == "acknowledge":  # delivered: the events are gone, all of them, and nothing else changed
        assert (after["outbox"], after["outbox_state"]) == ([], [(1, 0, 0)])
        assert {name: rows for name, rows in after.items() if not name.startswith("outbox")} == {
            name: rows for name, rows in before.items() if not name.startswith("outbox")}
    else:
        assert_every_change_has_its_event(database, alarm_depth)
