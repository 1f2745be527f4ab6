"""The pickup chart as a class: screens for every resting state, a diagram drawn from it, and no Qt."""

from __future__ import annotations

import subprocess
import sys

import pytest
from statemachine import StateChart

from kiosk.core.flows import courier, returns
from kiosk.core.flows.diagram import courier_diagram, main, mermaid, pickup_diagram, returns_diagram
from kiosk.core.flows.pickup import ELSEWHERE, SCREEN_OF_STATE, PickupChart
from kiosk.core.flows.views import ScreenId


def all_states(chart: type[StateChart] = PickupChart) -> list[str]:
    return [state.id for state in chart.states_map.values()]


def test_every_state_but_the_composites_histories_and_resting_states_names_a_screen() -> None:
    assert set(all_states()) - {"session", "resume", ELSEWHERE} == set(SCREEN_OF_STATE)
    for chart, screens in ((courier.CourierChart, courier.SCREEN_OF_STATE),
                           (returns.ReturnsChart, returns.SCREEN_OF_STATE)):
        assert set(all_states(chart)) - {"session", "resume", "idle"} == set(screens), chart
    shown = {*SCREEN_OF_STATE.values(), *courier.SCREEN_OF_STATE.values(), *returns.SCREEN_OF_STATE.values()}
    assert shown == set(ScreenId)  # every screen of the contract is some chart's


@pytest.mark.parametrize(
    ("draw", "chart", "lines"),
    [
        (courier_diagram, courier.CourierChart, (
            "[*] --> idle",
            "idle --> session : start",
            "idle --> verify : badge / check_badge",
            "scan --> placing : label_scanned / read_label",
            "door_open --> scan : [deposited] / note_deposited",
            "door_open --> placing : too_small [door_is_open] / move_to_bigger",
            "session --> more_time : inactivity / remember_interrupted",
            "more_time --> summary : time_up [logged_in] / end_by_inactivity",
        )),
        (returns_diagram, returns.ReturnsChart, (
            "idle --> verify : scanned_code / check_scanned_code",
            "code --> verify : submit_code / check_code",
            "door_open --> receipt : [deposited]",
            "deposit_check --> idle : skip / note_skipped",
        )),
    ],
)
def test_the_courier_and_returns_diagrams_are_drawn_from_their_classes(  # type: ignore[no-untyped-def]
        draw, chart, lines) -> None:
    text = draw()
    for state in all_states(chart):
        assert f" {state}" in text, state
    for line in lines:
        assert line in text, line
    assert main([chart.__module__.rsplit(".", 1)[1]]) == 0
    assert main(["nonsense"]) == 2


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
