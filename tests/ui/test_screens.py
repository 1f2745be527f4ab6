"""Every screen renders the view model it is given and sends the right intents back."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk

from kiosk.core.flows.views import (
    CodeError,
    DoorOpenView,
    ErrorReason,
    ErrorView,
    HomeView,
    Intent,
    LockedOutView,
    MapCell,
    MoreTimeView,
    ParcelItem,
    ParcelListView,
    PickupCodeView,
    ReportProblemView,
    Screen,
    ScreenId,
    ThankYouView,
)
from kiosk.core.model import DoorState, ProblemKind, Size
from kiosk.ui.locker_map import LockerMap


def visible_text(screen: QWidget) -> str:
    parts = [w.text() for w in screen.findChildren(QLabel) + screen.findChildren(QPushButton)
             if w.isVisibleTo(screen) and w.text()]
    return "\n".join(parts)


def label(kiosk: Kiosk, object_name: str) -> str:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QLabel)
    return widget.text() if widget.isVisibleTo(widget.window()) else ""


def button(kiosk: Kiosk, object_name: str) -> QPushButton:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QPushButton)
    return widget


def cells(*open_doors: str) -> tuple[MapCell, ...]:
    layout = [("A07", 0, 60, Size.L), ("A08", 0, 20, Size.M),
              ("B02", 1, 180, Size.S), ("B03", 1, 160, Size.M)]
    return tuple(
        MapCell(cid, column, height, size, DoorState.OPEN if cid in open_doors else DoorState.CLOSED,
                highlighted=cid in open_doors)
        for cid, column, height, size in layout
    )


def test_every_screen_id_has_a_widget_named_after_it(kiosk_ui: Kiosk) -> None:
    for screen_id in ScreenId:
        assert kiosk_ui.window.screen_widget(screen_id).objectName() == screen_id.value
    assert kiosk_ui.window.current_screen_id() == "home"


def test_home_starts_pickup_and_return(kiosk_ui: Kiosk) -> None:
    assert kiosk_ui.widget("logo").isVisible()
    assert button(kiosk_ui, "pickup_button").accessibleName() == "Pick up a parcel"
    kiosk_ui.tap("pickup_button")
    kiosk_ui.tap("return_button")
    assert kiosk_ui.flows.sent() == [(Intent.START_PICKUP, {}), (Intent.START_RETURN, {})]
    assert "Locker 0421 · Central Station" in visible_text(kiosk_ui.window.screen_widget("home"))


def test_any_press_anywhere_reports_activity(kiosk_ui: Kiosk) -> None:
    kiosk_ui.tap("logo")
    assert (Intent.ACTIVITY, {}) in kiosk_ui.flows.intents
    assert kiosk_ui.flows.sent() == []


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (PickupCodeView(), ""),
        (PickupCodeView(CodeError.WRONG_CODE, failures_in_a_row=2, failures_allowed=5),
         "That code was not recognised. 3 attempts left before a pause."),
        (PickupCodeView(CodeError.WRONG_CODE, failures_in_a_row=4, failures_allowed=5),
         "That code was not recognised. 1 attempt left before a pause."),
        (PickupCodeView(CodeError.WRONG_CODE, failures_in_a_row=5, failures_allowed=5),
         "That code was not recognised."),
        (PickupCodeView(CodeError.MALFORMED),
         "A pickup code has 6 to 8 digits. Please check it and try again."),
    ],
)
def test_pickup_code_shows_why_a_code_was_refused(
    kiosk_ui: Kiosk, view: PickupCodeView, expected: str
) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, view)
    assert label(kiosk_ui, "title_label") == "Enter your pickup code"
    assert label(kiosk_ui, "error_label") == expected
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.CANCEL, {})]


def test_parcel_list_has_a_row_per_parcel_with_its_door_and_size(kiosk_ui: Kiosk) -> None:
    parcels = (
        ParcelItem("p-1", "A07", Size.L, opened=False),
        ParcelItem("p-2", "B02", Size.S, opened=True),
        ParcelItem("p-3", "C11", Size.XL, opened=False),
    )
    screen = kiosk_ui.show(ScreenId.PARCEL_LIST, ParcelListView(parcels))
    assert label(kiosk_ui, "title_label") == "You have 3 parcels here"
    assert label(kiosk_ui, "door_label_p-1") == "Door A07"
    assert label(kiosk_ui, "size_label_p-1") == "Large parcel"
    assert label(kiosk_ui, "size_label_p-3") == "Extra large parcel"
    assert not button(kiosk_ui, "open_parcel_p-2").isEnabled()
    kiosk_ui.tap("open_parcel_p-3")
    kiosk_ui.tap("open_all_button")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [
        (Intent.OPEN_PARCEL, {"parcel_id": "p-3"}),
        (Intent.OPEN_ALL, {}),
        (Intent.CANCEL, {}),
    ]
    # A new view replaces the rows; nothing of the old list stays behind.
    kiosk_ui.show(ScreenId.PARCEL_LIST, ParcelListView(parcels[:1]))
    open_buttons = [b.objectName() for b in screen.findChildren(QPushButton)
                    if b.objectName().startswith("open_parcel")]
    assert open_buttons == ["open_parcel_p-1"]
    assert label(kiosk_ui, "title_label") == "You have 1 parcel here"


@pytest.mark.parametrize(
    ("doors", "waiting", "title", "instruction"),
    [
        (("A07",), False, "Door A07 is open", "Take your parcel and close the door."),
        (("A07", "B02"), False, "Doors A07 and B02 are open", "Take your parcels and close the doors."),
        (("A07", "B02", "B03"), False, "Doors A07, B02 and B03 are open",
         "Take your parcels and close the doors."),
        (("A07",), True, "Opening door A07…", "Take your parcel and close the door."),
    ],
)
def test_door_open_names_the_doors(
    kiosk_ui: Kiosk, doors: tuple[str, ...], waiting: bool, title: str, instruction: str
) -> None:
    kiosk_ui.show(ScreenId.DOOR_OPEN, DoorOpenView(doors, cells(*doors), waiting_for_unlock=waiting))
    assert label(kiosk_ui, "title_label") == title
    assert label(kiosk_ui, "instruction_label") == instruction
    locker_map = kiosk_ui.widget("locker_map")
    assert isinstance(locker_map, LockerMap)
    assert {c.compartment_id for c in locker_map.cells() if c.highlighted} == set(doors)
    kiosk_ui.tap("door_problem_button")
    assert kiosk_ui.flows.sent() == [(Intent.REPORT_PROBLEM, {})]


def test_door_changes_update_the_map_between_views(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.show(ScreenId.DOOR_OPEN, DoorOpenView(("A07",), cells(), waiting_for_unlock=True))
    locker_map = kiosk_ui.widget("locker_map")
    assert isinstance(locker_map, LockerMap)
    kiosk_ui.bridge.on_door("A07", DoorState.OPEN)
    qtbot.waitUntil(lambda: {c.compartment_id: c.door for c in locker_map.cells()}["A07"] is DoorState.OPEN)
    kiosk_ui.bridge.on_door("A07", "ajar")  # type: ignore[arg-type]  # malformed: ignored
    assert {c.compartment_id: c.door for c in locker_map.cells()}["A07"] is DoorState.OPEN


def test_report_problem_offers_one_button_per_kind(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.REPORT_PROBLEM, ReportProblemView(("p-1",)))
    for object_name in ("problem_damaged", "problem_not_mine", "problem_door_did_not_open", "cancel_button"):
        kiosk_ui.tap(object_name)
    assert kiosk_ui.flows.sent() == [
        (Intent.CHOOSE_PROBLEM, {"kind": ProblemKind.DAMAGED}),
        (Intent.CHOOSE_PROBLEM, {"kind": ProblemKind.NOT_MINE}),
        (Intent.CHOOSE_PROBLEM, {"kind": ProblemKind.DOOR_DID_NOT_OPEN}),
        (Intent.CANCEL, {}),
    ]


def test_report_problem_shows_only_the_choices_offered(kiosk_ui: Kiosk) -> None:
    only_the_door = ReportProblemView(("p-1",), choices=(ProblemKind.DOOR_DID_NOT_OPEN,))
    kiosk_ui.show(ScreenId.REPORT_PROBLEM, only_the_door)
    assert not button(kiosk_ui, "problem_damaged").isVisible()
    assert button(kiosk_ui, "problem_door_did_not_open").isVisible()


def test_thank_you_counts_parcels_and_offers_a_report(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(parcels_picked_up=2))
    assert label(kiosk_ui, "title_label") == "Thank you"
    assert label(kiosk_ui, "message_label") == "You picked up 2 parcels."
    kiosk_ui.tap("report_button")
    kiosk_ui.tap("done_button")
    assert kiosk_ui.flows.sent() == [(Intent.REPORT_PROBLEM, {}), (Intent.DONE, {})]


def test_thank_you_after_a_report(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(parcels_picked_up=1, problem_reported=ProblemKind.DAMAGED))
    assert label(kiosk_ui, "title_label") == "Thank you, we have passed your report on."
    assert label(kiosk_ui, "message_label") == "You picked up 1 parcel."
    assert not button(kiosk_ui, "report_button").isVisible()


def test_locked_out_counts_down_in_minutes_and_seconds(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.LOCKED_OUT, LockedOutView(seconds_left=272))
    assert label(kiosk_ui, "title_label") == "Too many wrong codes."
    assert label(kiosk_ui, "message_label") == "Please wait 4:32"
    kiosk_ui.show(ScreenId.LOCKED_OUT, LockedOutView(seconds_left=9))
    assert label(kiosk_ui, "message_label") == "Please wait 0:09"
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.CANCEL, {})]


def test_more_time_asks_and_counts_down(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.MORE_TIME, MoreTimeView(seconds_left=12, returns_to=ScreenId.PICKUP_CODE))
    assert label(kiosk_ui, "title_label") == "Need more time?"
    assert "12 seconds" in label(kiosk_ui, "message_label")
    kiosk_ui.show(ScreenId.MORE_TIME, MoreTimeView(seconds_left=1, returns_to=ScreenId.PICKUP_CODE))
    assert "1 second." in label(kiosk_ui, "message_label")
    assert button(kiosk_ui, "more_time_button").height() >= 120
    kiosk_ui.tap("more_time_button")
    kiosk_ui.tap("home_button")
    assert kiosk_ui.flows.sent() == [(Intent.MORE_TIME, {}), (Intent.CANCEL, {})]


@pytest.mark.parametrize(
    ("view", "title", "message", "next_step"),
    [
        (ErrorView(ErrorReason.DOOR_FAULT, "A07"), "Door A07 could not be opened.",
         "Your parcel is safe and the operator has been told.",
         "Your code still works: try again later or call support."),
        (ErrorView(ErrorReason.DOOR_FAULT, None, code_still_valid=False), "The door could not be opened.",
         "Your parcel is safe and the operator has been told.", "Please call support."),
        (ErrorView(ErrorReason.BUS_DOWN), "The locker is not responding.",
         "Your parcels are safe inside. Please try again in a few minutes.",
         "Your code still works: try again later or call support."),
    ],
)
def test_errors_say_what_happened_and_what_to_do(
    kiosk_ui: Kiosk, view: ErrorView, title: str, message: str, next_step: str
) -> None:
    kiosk_ui.show(ScreenId.ERROR, view)
    assert (label(kiosk_ui, "title_label"), label(kiosk_ui, "message_label"),
            label(kiosk_ui, "next_step_label")) == (title, message, next_step)
    kiosk_ui.tap("home_button")
    assert kiosk_ui.flows.sent() == [(Intent.CANCEL, {})]


def test_a_malformed_screen_is_logged_and_ignored(kiosk_ui: Kiosk, caplog: pytest.LogCaptureFixture) -> None:
    kiosk_ui.show(ScreenId.LOCKED_OUT, LockedOutView(seconds_left=60))
    with caplog.at_level(logging.ERROR):
        kiosk_ui.flows.show(Screen(ScreenId.PARCEL_LIST, LockedOutView(seconds_left=5)))  # wrong view type
        kiosk_ui.bridge.screen_changed.emit("home")  # not a Screen at all
    assert kiosk_ui.window.current_screen_id() == "locked_out"
    assert "cannot show" in caplog.text
    assert "not a Screen" in caplog.text


def test_the_home_view_after_a_session_shows_home(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1))
    kiosk_ui.show(ScreenId.HOME, HomeView())
    assert kiosk_ui.window.current_screen_id() == "home"


def test_each_press_reports_activity_once(kiosk_ui: Kiosk) -> None:
    for _ in range(3):
        kiosk_ui.tap("logo")
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView())
    kiosk_ui.tap("key_5")  # a button press, not just a press on a passive widget
    activity = [intent for intent, _ in kiosk_ui.flows.intents if intent is Intent.ACTIVITY]
    assert len(activity) == 4
