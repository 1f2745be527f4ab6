"""kill -9 at the worst moment: a committed door-journal step must be there after a restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
