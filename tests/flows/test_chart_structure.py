"""The pickup chart as a class: screens for every resting state, a diagram drawn from it, and no Qt."""

from __future__ import annotations

import subprocess
import sys

from kiosk.core.flows.diagram import main, mermaid, pickup_diagram
from kiosk.core.flows.pickup import SCREEN_OF_STATE, PickupChart
from kiosk.core.flows.views import ScreenId


def all_states() -> list[str]:
    return [state.id for state in PickupChart.states_map.values()]


def test_every_state_but_the_composite_and_its_history_names_a_screen() -> None:
    resting = set(all_states()) - {"session", "resume"}
    assert resting == set(SCREEN_OF_STATE)
    assert set(SCREEN_OF_STATE.values()) == set(ScreenId)


def test_the_diagram_is_drawn_from_the_class() -> None:
    text = pickup_diagram()
    assert text.startswith("stateDiagram-v2\n")
    for state in all_states():
        assert f" {state}" in text, state
    for line in (
        "[*] --> home",
        "home --> session : start_pickup / begin_session",
        "pickup_code --> verify : submit_code / check_code",
        "verify --> door_open : [one_parcel] / open_every_parcel",
        "door_open --> parcel_list : [batch_closed and parcels_left]",
        "session --> more_time : inactivity / remember_interrupted",
        "more_time --> resume : extend",
        "locked_out --> pickup_code : [!keypad_locked]",
    ):
        assert line in text, line
    # the composite's own transitions are drawn inside it, the ones leaving it outside
    inside = text[text.index("state session {"): text.index("}")]
    assert "thank_you --> report_problem" in inside and "session --> home" not in inside


def test_mermaid_works_for_any_chart() -> None:
    from statemachine import State, StateChart

    class Door(StateChart):
        closed = State(initial=True)
        opened = State()
        gone = State(final=True)
        open = closed.to(opened, cond="allowed")
        close = opened.to(closed)
        remove = opened.to(gone)

        def allowed(self) -> bool:
            return True

    text = mermaid(Door)
    assert "closed --> opened : open [allowed]" in text and "gone --> [*]" in text


def test_python_m_prints_the_pickup_chart(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([]) == 0
    assert capsys.readouterr().out == pickup_diagram()
    result = subprocess.run([sys.executable, "-m", "kiosk.core.flows.diagram"], capture_output=True,
                            text=True, check=True, timeout=60)
    assert result.stdout == pickup_diagram()


def test_the_core_and_its_flows_load_without_qt_sqlite_or_serial() -> None:
    probe = (
        "import sys\n"
        "import kiosk.core.flows.controller, kiosk.core.flows.diagram, kiosk.core.inventory\n"
        "import kiosk.core.locker, kiosk.core.codes\n"
        "loaded = [m for m in ('PySide6', 'shiboken6', 'qasync', 'sqlite3', 'serial', 'hal', 'kiosk.store')"
        " if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
