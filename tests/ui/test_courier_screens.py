"""Courier mode on screen: login on the letter keyboard, the menu, the scan batch, sizes, collection, the
summary, the deposit check and the courier's door screen; each view variant renders and each tap sends the
intent the flows expect."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk, SteppingClock

from kiosk.core.flows.views import (
    CollectItem,
    CollectReason,
    CourierCollectView,
    CourierLoginError,
    CourierLoginView,
    CourierMenuView,
    CourierNotice,
    CourierScanView,
    CourierSizeView,
    CourierSummaryView,
    DepositCheckView,
    DoorAudience,
    DoorOpenView,
    HomeView,
    Intent,
    Screen,
    ScreenId,
    ViewModel,
)
from kiosk.core.model import Size
from kiosk.ui.preview import sample_cells
from kiosk.ui.screens.courier_login import CourierLoginScreen
from kiosk.ui.text_entry import EntryField, TextKeypad
from kiosk.ui.wedge import send_scanner_burst
from kiosk.ui.widgets import KEY_PX, MIN_TOUCH_PX

PERSON_PACE = 0.15


def text_of(kiosk: Kiosk, object_name: str) -> str:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QLabel | QPushButton)
    return widget.text() if widget.isVisibleTo(widget.window()) else ""


def button(kiosk: Kiosk, object_name: str) -> QPushButton:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QPushButton)
    return widget


def field(kiosk: Kiosk, object_name: str) -> EntryField:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, EntryField)
    return widget


def click(widget: QWidget) -> None:
    """A finger on the widget, whether or not it can take it (kiosk.tap refuses disabled ones)."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(widget.width() // 2, widget.height() // 2))


def type_keys(kiosk: Kiosk, text: str) -> None:
    for char in text:
        kiosk.tap("key_dash" if char == "-" else f"key_{char}")


def login_screen(kiosk: Kiosk, view: CourierLoginView | None = None) -> CourierLoginScreen:
    screen = kiosk.show(ScreenId.COURIER_LOGIN, view or CourierLoginView())
    assert isinstance(screen, CourierLoginScreen)
    return screen


def collect_item(parcel_id: str, door: str, *, collected: bool = False, failed: bool = False,
                 reason: CollectReason = CollectReason.EXPIRED) -> CollectItem:
    return CollectItem(parcel_id, door, Size.M, reason, collected=collected, failed=failed)


# home ------------------------------------------------------------------------------------------------------

def test_home_has_a_quiet_courier_button(kiosk_ui: Kiosk) -> None:
    courier = button(kiosk_ui, "courier_button")
    assert courier.text() == "Courier"
    assert courier.accessibleName() == "Courier login"
    assert courier.property("role") == "quiet"
    kiosk_ui.tap("courier_button")
    kiosk_ui.tap("return_button")
    assert kiosk_ui.flows.sent() == [(Intent.START_COURIER, {}), (Intent.START_RETURN, {})]


# courier_login ---------------------------------------------------------------------------------------------

def test_courier_id_and_pin_typed_on_the_keys_log_in(kiosk_ui: Kiosk) -> None:
    login_screen(kiosk_ui)
    assert not button(kiosk_ui, "login_button").isEnabled()
    assert not button(kiosk_ui, "key_ok").isEnabled()
    type_keys(kiosk_ui, "DHL-47X")
    kiosk_ui.tap("key_back")
    assert field(kiosk_ui, "courier_id_field").text() == "DHL-47"
    assert text_of(kiosk_ui, "key_ok") == "Next"
    kiosk_ui.tap("key_ok")  # on to the PIN
    # A PIN has digits only: the letters and the dash wait.
    assert not button(kiosk_ui, "key_A").isEnabled()
    assert not button(kiosk_ui, "key_dash").isEnabled()
    assert button(kiosk_ui, "key_5").isEnabled()
    type_keys(kiosk_ui, "2580")
    assert field(kiosk_ui, "pin_field").echoMode() is EntryField.EchoMode.Password
    assert button(kiosk_ui, "login_button").isEnabled()
    kiosk_ui.tap("key_ok")
    assert kiosk_ui.flows.sent() == [(Intent.COURIER_LOGIN, {"courier_id": "DHL-47", "pin": "2580"})]
    # The PIN leaves the screen with the request; the id stays to be corrected if it was wrong.
    assert field(kiosk_ui, "pin_field").text() == ""
    assert field(kiosk_ui, "courier_id_field").text() == "DHL-47"


def test_the_login_button_logs_in_and_a_tap_on_a_field_moves_the_keyboard_there(kiosk_ui: Kiosk) -> None:
    screen = login_screen(kiosk_ui)
    type_keys(kiosk_ui, "AB")
    click(field(kiosk_ui, "pin_field"))
    assert screen.keypad.target() is field(kiosk_ui, "pin_field")
    type_keys(kiosk_ui, "11")
    click(field(kiosk_ui, "courier_id_field"))
    assert screen.keypad.target() is field(kiosk_ui, "courier_id_field")
    assert field(kiosk_ui, "courier_id_field").property("active") is True
    assert field(kiosk_ui, "pin_field").property("active") is False
    type_keys(kiosk_ui, "9")
    kiosk_ui.tap("login_button")
    assert kiosk_ui.flows.sent() == [(Intent.COURIER_LOGIN, {"courier_id": "AB9", "pin": "11"})]


def test_ok_on_an_empty_id_sends_nothing(kiosk_ui: Kiosk) -> None:
    screen = login_screen(kiosk_ui)
    screen.keypad.submit()  # as Enter would
    field(kiosk_ui, "courier_id_field").submitted.emit()
    assert kiosk_ui.flows.sent() == []


def test_a_physical_keyboard_types_upper_case_and_enter_moves_on_then_logs_in(
    kiosk_ui: Kiosk, qtbot: QtBot
) -> None:
    login_screen(kiosk_ui)
    id_field = field(kiosk_ui, "courier_id_field")
    qtbot.waitUntil(id_field.hasFocus, timeout=2000)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(PERSON_PACE)
    window = kiosk_ui.window.windowHandle()
    for char in "dhl_-7!":  # '_' and '!' are no part of a courier id
        QTest.keyClick(window, char)
    QTest.keyClick(window, Qt.Key.Key_Return)
    pin_field = field(kiosk_ui, "pin_field")
    qtbot.waitUntil(pin_field.hasFocus, timeout=2000)
    assert id_field.text() == "DHL-7"
    for char in "12a3":
        QTest.keyClick(window, char)
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(kiosk_ui.flows.sent()), timeout=2000)
    assert kiosk_ui.flows.sent() == [(Intent.COURIER_LOGIN, {"courier_id": "DHL-7", "pin": "123"})]


def test_a_badge_scanned_on_the_login_screen_is_a_scan_not_typing(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    login_screen(kiosk_ui)
    id_field = field(kiosk_ui, "courier_id_field")
    send_scanner_burst(id_field, "COURIER:DHL-4711:9f8e7d")
    qtbot.waitUntil(lambda: bool(kiosk_ui.flows.sent()), timeout=2000)
    assert kiosk_ui.flows.sent() == [(Intent.SCAN, {"payload": "COURIER:DHL-4711:9f8e7d", "source": "wedge"})]
    assert id_field.text() == ""


def test_a_courier_id_is_at_most_32_characters(kiosk_ui: Kiosk) -> None:
    login_screen(kiosk_ui)
    id_field = field(kiosk_ui, "courier_id_field")
    id_field.type_text("A" * 40)
    assert id_field.text() == "A" * 32
    assert not button(kiosk_ui, "key_B").isEnabled()  # no room: the keys say so
    assert button(kiosk_ui, "key_back").isEnabled()


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (CourierLoginView(), ""),
        (CourierLoginView(CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=2),
         "Courier ID, PIN or badge not recognised. 3 attempts left before a pause."),
        (CourierLoginView(CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=4),
         "Courier ID, PIN or badge not recognised. 1 attempt left before a pause."),
        (CourierLoginView(CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=5),
         "Courier ID, PIN or badge not recognised."),
        (CourierLoginView(CourierLoginError.MALFORMED), "Please enter both your courier ID and your PIN."),
        (CourierLoginView(CourierLoginError.EXPIRED),
         "Your courier access has expired. Please contact your dispatcher."),
        (CourierLoginView(CourierLoginError.UNSUPPORTED),
         "This locker cannot check your PIN. Please log in with your badge."),
    ],
)
def test_courier_login_says_why_it_was_refused(
    kiosk_ui: Kiosk, view: CourierLoginView, expected: str
) -> None:
    login_screen(kiosk_ui, view)
    assert text_of(kiosk_ui, "title_label") == "Courier login"
    assert text_of(kiosk_ui, "status_label") == expected
    assert kiosk_ui.widget("status_label").property("role") == "error"
    # The hint makes way for a reason, and comes back without one.
    assert text_of(kiosk_ui, "hint_label") == ("" if expected else "Enter your courier ID and PIN.")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.CANCEL, {})]


def test_the_badge_hint_shows_where_there_is_a_camera(kiosk_ui: Kiosk) -> None:
    login_screen(kiosk_ui, CourierLoginView(can_scan=True))
    assert text_of(kiosk_ui, "hint_label") == ("Hold your badge up to the camera, or enter your courier ID "
                                               "and PIN.")


def test_while_the_pin_is_checked_the_keys_wait(kiosk_ui: Kiosk) -> None:
    screen = login_screen(kiosk_ui)
    type_keys(kiosk_ui, "Q7")
    kiosk_ui.show(ScreenId.COURIER_LOGIN, CourierLoginView(checking=True))
    assert text_of(kiosk_ui, "status_label") == "Checking…"
    assert kiosk_ui.widget("status_label").property("role") == "notice"
    assert not any(key.isEnabled() for key in screen.keypad.key_buttons())
    assert field(kiosk_ui, "courier_id_field").isReadOnly()
    assert not button(kiosk_ui, "login_button").isEnabled()
    field(kiosk_ui, "courier_id_field").type_text("Z")
    assert field(kiosk_ui, "courier_id_field").text() == "Q7"
    kiosk_ui.show(ScreenId.COURIER_LOGIN,
                  CourierLoginView(CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=1))
    assert not field(kiosk_ui, "courier_id_field").isReadOnly()
    assert button(kiosk_ui, "key_Z").isEnabled()


def test_a_locked_login_counts_down_and_opens_again(kiosk_ui: Kiosk) -> None:
    screen = login_screen(kiosk_ui)
    now = [500.0]
    screen.countdown.clock = lambda: now[0]
    kiosk_ui.show(ScreenId.COURIER_LOGIN, CourierLoginView(CourierLoginError.WRONG_CREDENTIALS,
                                                           failures_in_a_row=5, locked_seconds=61))
    assert text_of(kiosk_ui, "status_label") == "Too many wrong attempts. Please wait 1:01."
    assert screen.countdown.running()
    assert not any(key.isEnabled() for key in screen.keypad.key_buttons())
    now[0] += 2.5
    screen.countdown.tick()
    assert text_of(kiosk_ui, "status_label") == "Too many wrong attempts. Please wait 0:59."
    now[0] += 59
    screen.countdown.tick()
    assert not screen.countdown.running()
    assert "Please wait" not in text_of(kiosk_ui, "status_label")
    assert button(kiosk_ui, "key_A").isEnabled()


def test_the_next_person_finds_the_login_fields_empty(kiosk_ui: Kiosk) -> None:
    login_screen(kiosk_ui)
    type_keys(kiosk_ui, "DHL")
    kiosk_ui.tap("key_ok")
    type_keys(kiosk_ui, "99")
    kiosk_ui.show(ScreenId.HOME, HomeView())
    screen = login_screen(kiosk_ui)
    assert field(kiosk_ui, "courier_id_field").text() == ""
    assert field(kiosk_ui, "pin_field").text() == ""
    assert screen.keypad.target() is field(kiosk_ui, "courier_id_field")


def test_the_letter_keyboard_has_every_key_a_handle_and_a_name(kiosk_ui: Kiosk) -> None:
    screen = login_screen(kiosk_ui)
    names = {key.objectName() for key in screen.keypad.key_buttons()}
    expected = {f"key_{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}
    expected |= {"key_dash", "key_back", "key_ok"}
    assert names == expected
    for key in screen.keypad.key_buttons():
        assert key.accessibleName(), key.objectName()
        assert min(key.width(), key.height()) >= KEY_PX, key.objectName()
    assert isinstance(kiosk_ui.widget("text_keypad"), TextKeypad)


# courier_menu ----------------------------------------------------------------------------------------------

def test_courier_menu_greets_counts_and_offers_both_jobs(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.COURIER_MENU, CourierMenuView("Anna Schmidt", True, 4, 12, 3))
    assert text_of(kiosk_ui, "greeting_label") == "Hello, Anna Schmidt"
    assert text_of(kiosk_ui, "session_label") == "This session: 12 delivered, 3 collected."
    assert text_of(kiosk_ui, "courier_collect_button_caption") == "4 parcels waiting"
    for name in ("courier_dropoff_button", "courier_collect_button", "courier_logout_button"):
        kiosk_ui.tap(name)
    assert kiosk_ui.flows.sent() == [(Intent.COURIER_DROPOFF, {}), (Intent.COURIER_COLLECT, {}),
                                     (Intent.LOGOUT, {})]


@pytest.mark.parametrize(
    ("can_collect", "collectable", "caption"),
    [(False, 4, "Your login does not include collecting"), (True, 0, "Nothing to collect here")],
)
def test_collecting_is_off_when_not_allowed_or_nothing_waits(
    kiosk_ui: Kiosk, can_collect: bool, collectable: int, caption: str
) -> None:
    kiosk_ui.show(ScreenId.COURIER_MENU, CourierMenuView("Anna", can_collect, collectable, 0, 0))
    collect = button(kiosk_ui, "courier_collect_button")
    assert not collect.isEnabled()
    assert text_of(kiosk_ui, "courier_collect_button_caption") == caption
    click(collect)
    assert kiosk_ui.flows.sent() == []


# courier_scan ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("view", "text", "role"),
    [
        (CourierScanView(0, 0), "", "warning"),
        (CourierScanView(3, 0, CourierNotice.DEPOSITED, "JJD0003900071", "D05"),
         "Parcel JJD0003900071 is in door D05. Scan the next one.", "ok"),
        (CourierScanView(3, 1, CourierNotice.UNANNOUNCED_REFUSED, "JJD0003900071"),
         "Parcel JJD0003900071 was not announced for this locker. Please keep it.", "warning"),
        (CourierScanView(3, 1, CourierNotice.LOCKER_FULL, "JJD0003900071", notice_size=Size.L),
         "No free compartment for size L. Please keep this parcel.", "warning"),
        (CourierScanView(3, 1, CourierNotice.NO_BIGGER, "JJD0003900071", notice_size=Size.XL),
         "No bigger compartment is free (size XL or larger). Please keep this parcel.", "warning"),
        (CourierScanView(3, 1, CourierNotice.NOT_DEPOSITED, "JJD0003900071"),
         "Parcel JJD0003900071 was not delivered. Please keep it.", "warning"),
        (CourierScanView(3, 1, CourierNotice.ALREADY_HERE, "JJD0003900071"),
         "Parcel JJD0003900071 was delivered to this locker already.", "warning"),
        (CourierScanView(3, 1, CourierNotice.NOT_A_LABEL, "LOCKER:0421:PICKUP:88412093"),
         "That was not a parcel label. Please scan the barcode on the label.", "warning"),
        (CourierScanView(3, 1, CourierNotice.DOOR_FAULT, "JJD0003900071"),
         "No door could be opened for parcel JJD0003900071. Please keep it; the operator has been told.",
         "error"),
        (CourierScanView(3, 1, CourierNotice.DEPOSITED), "The parcel is in. Scan the next one.", "ok"),
        (CourierScanView(3, 1, CourierNotice.LOCKER_FULL),
         "No free compartment for this parcel. Please keep it.", "warning"),
    ],
)
def test_courier_scan_says_what_became_of_the_last_label(
    kiosk_ui: Kiosk, view: CourierScanView, text: str, role: str
) -> None:
    kiosk_ui.show(ScreenId.COURIER_SCAN, view)
    assert text_of(kiosk_ui, "title_label") == "Scan the next parcel label"
    assert text_of(kiosk_ui, "notice_label") == text
    if text:
        assert kiosk_ui.widget("notice_label").property("role") == role
    assert text_of(kiosk_ui, "delivered_count_value") == str(view.delivered)
    assert text_of(kiosk_ui, "refused_count_value") == str(view.refused)
    assert "LOCKER:0421" not in text  # what was scanned may be someone's pickup code
    kiosk_ui.tap("courier_menu_button")
    assert kiosk_ui.flows.sent() == [(Intent.COURIER_MENU, {})]


def test_a_very_long_label_is_shortened_to_its_ends(kiosk_ui: Kiosk) -> None:
    label = "JJD00039000712345678901234567890XYZ"
    kiosk_ui.show(ScreenId.COURIER_SCAN, CourierScanView(1, 0, CourierNotice.DEPOSITED, label, "A01"))
    assert text_of(kiosk_ui, "notice_label") == ("Parcel JJD00039…234567890XYZ is in door A01. "
                                                 "Scan the next one.")


def test_courier_scan_mentions_the_camera_when_there_is_one(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.COURIER_SCAN, CourierScanView(0, 0, can_scan=True))
    assert "or up to the camera" in text_of(kiosk_ui, "hint_label")
    kiosk_ui.show(ScreenId.COURIER_SCAN, CourierScanView(0, 0))
    assert "camera" not in text_of(kiosk_ui, "hint_label")


# courier_size ----------------------------------------------------------------------------------------------

def test_courier_size_sends_the_size_tapped_and_refuses_the_full_ones(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.COURIER_SIZE, CourierSizeView("JJD0003900071", (Size.M, Size.L, Size.XL),
                                                         photo_taken=True))
    assert text_of(kiosk_ui, "label_label") == "Label JJD0003900071"
    assert text_of(kiosk_ui, "note_label") == ("This parcel was not announced for this locker. A photo of it "
                                               "was taken for the record.")
    small = button(kiosk_ui, "size_S")
    assert not small.isEnabled()
    assert text_of(kiosk_ui, "size_S_caption") == "No free compartment"
    assert small.accessibleName() == "Size S: no free compartment"
    assert button(kiosk_ui, "size_L").accessibleName() == "Size L, Large"
    click(small)
    kiosk_ui.tap("size_M")
    kiosk_ui.tap("size_XL")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [
        (Intent.CHOOSE_SIZE, {"size": Size.M}), (Intent.CHOOSE_SIZE, {"size": Size.XL}), (Intent.CANCEL, {})
    ]


@pytest.mark.parametrize(
    ("unannounced", "photo", "note"),
    [
        (True, False, "This parcel was not announced for this locker."),
        (False, False, "There is no size on record for this parcel."),
    ],
)
def test_courier_size_says_why_it_asks(kiosk_ui: Kiosk, unannounced: bool, photo: bool, note: str) -> None:
    kiosk_ui.show(ScreenId.COURIER_SIZE, CourierSizeView("L-1", tuple(Size), unannounced=unannounced,
                                                         photo_taken=photo))
    assert text_of(kiosk_ui, "note_label") == note
    assert all(button(kiosk_ui, f"size_{size.value}").isEnabled() for size in Size)


# courier_collect -------------------------------------------------------------------------------------------

def test_courier_collect_lists_each_parcel_with_its_own_open_button(kiosk_ui: Kiosk) -> None:
    items = (
        collect_item("P-1", "A03", collected=True),
        collect_item("P-2", "C05", failed=True, reason=CollectReason.RETURNED),
        collect_item("P-3", "D02"),
    )
    kiosk_ui.show(ScreenId.COURIER_COLLECT, CourierCollectView(items))
    assert text_of(kiosk_ui, "title_label") == "2 parcels to collect"
    assert text_of(kiosk_ui, "door_label_P-1") == "Door A03"
    assert text_of(kiosk_ui, "details_label_P-1") == "P-1 · Medium · expired"
    assert text_of(kiosk_ui, "state_label_P-1") == "✓ Collected"
    assert not button(kiosk_ui, "open_P-1").isVisibleTo(kiosk_ui.window)
    assert text_of(kiosk_ui, "details_label_P-2") == "P-2 · Medium · returned by a customer"
    assert text_of(kiosk_ui, "state_label_P-2").startswith("Not collected")
    assert text_of(kiosk_ui, "open_P-2") == "Try again"
    assert text_of(kiosk_ui, "open_P-3") == "Open"
    assert button(kiosk_ui, "open_P-3").accessibleName() == "Open door D02"
    assert text_of(kiosk_ui, "open_all_button") == "Open all 2 doors"
    kiosk_ui.tap("open_P-3")
    kiosk_ui.tap("open_P-2")
    kiosk_ui.tap("open_all_button")
    kiosk_ui.tap("courier_menu_button")
    assert kiosk_ui.flows.sent() == [
        (Intent.OPEN_PARCEL, {"parcel_id": "P-3"}),
        (Intent.OPEN_PARCEL, {"parcel_id": "P-2"}),
        (Intent.OPEN_ALL, {}),
        (Intent.COURIER_MENU, {}),
    ]


def test_courier_collect_keeps_its_rows_when_only_their_state_changes(kiosk_ui: Kiosk) -> None:
    items = (collect_item("P-1", "A03"), collect_item("P-2", "C05"))
    screen = kiosk_ui.show(ScreenId.COURIER_COLLECT, CourierCollectView(items))
    rows = screen.rows()  # type: ignore[attr-defined]
    now_collected = (items[0], collect_item("P-2", "C05", collected=True))
    kiosk_ui.show(ScreenId.COURIER_COLLECT, CourierCollectView(now_collected))
    assert screen.rows() == rows  # type: ignore[attr-defined]
    assert text_of(kiosk_ui, "state_label_P-2") == "✓ Collected"
    assert text_of(kiosk_ui, "open_all_button") == "Open 1 door"
    kiosk_ui.show(ScreenId.COURIER_COLLECT, CourierCollectView((collect_item("P-9", "B01"),)))
    names = [b.objectName() for b in screen.findChildren(QPushButton) if b.objectName().startswith("open_P")]
    assert names == ["open_P-9"]


def test_courier_collect_when_everything_is_out(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.COURIER_COLLECT, CourierCollectView((collect_item("P-1", "A03", collected=True),)))
    assert text_of(kiosk_ui, "title_label") == "All parcels collected"
    assert not button(kiosk_ui, "open_all_button").isEnabled()
    kiosk_ui.show(ScreenId.COURIER_COLLECT, CourierCollectView(()))
    assert text_of(kiosk_ui, "title_label") == "Nothing to collect"


# courier_summary -------------------------------------------------------------------------------------------

def test_courier_summary_counts_the_session(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.COURIER_SUMMARY, CourierSummaryView("Anna Schmidt", 18, 2, 5, 1))
    assert text_of(kiosk_ui, "title_label") == "Goodbye, Anna Schmidt"
    counts = {name: text_of(kiosk_ui, f"{name}_count_value") for name in ("delivered", "refused", "collected",
                                                                          "faults")}
    assert counts == {"delivered": "18", "refused": "2", "collected": "5", "faults": "1"}
    assert text_of(kiosk_ui, "faults_count_name") == "Door faults"
    assert text_of(kiosk_ui, "faults_label") == "1 door did not open; it was reported and taken out of use."
    kiosk_ui.tap("done_button")
    assert kiosk_ui.flows.sent() == [(Intent.DONE, {})]
    kiosk_ui.show(ScreenId.COURIER_SUMMARY, CourierSummaryView("Anna Schmidt", 18, 2, 5, 0))
    assert text_of(kiosk_ui, "faults_label") == ""


# deposit_check ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("view", "title", "message", "reopen", "skip"),
    [
        (DepositCheckView("D05", "JJD0003900071", still_inside=False, courier=True),
         "Door D05 is closed, but the compartment looks empty.", "Did you put parcel JJD0003900071 in?",
         "Open door D05 again", "I kept the parcel"),
        (DepositCheckView("D05", "P-1", still_inside=True, courier=True),
         "The parcel still seems to be in door D05.",
         "Open the door again to take parcel P-1 out, or leave it in.",
         "Open door D05 again", "Leave it"),
        (DepositCheckView("D05", "P-1", still_inside=False, courier=False),
         "Door D05 is closed, but we cannot see a parcel inside.", "Did you put your parcel in?",
         "Open door D05 again", "I still have my parcel"),
    ],
)
def test_deposit_check_asks_the_person_at_the_door(
    kiosk_ui: Kiosk, view: DepositCheckView, title: str, message: str, reopen: str, skip: str
) -> None:
    kiosk_ui.show(ScreenId.DEPOSIT_CHECK, view)
    assert text_of(kiosk_ui, "title_label") == title
    assert text_of(kiosk_ui, "message_label") == message
    assert text_of(kiosk_ui, "reopen_button") == reopen
    assert text_of(kiosk_ui, "skip_button") == skip
    kiosk_ui.tap("reopen_button")
    kiosk_ui.tap("skip_button")
    assert kiosk_ui.flows.sent() == [(Intent.REOPEN, {}), (Intent.SKIP, {})]


def test_a_customer_is_not_told_about_parcel_ids(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.DEPOSIT_CHECK,
                  DepositCheckView("D05", "RET-77", still_inside=False, courier=False))
    screen = kiosk_ui.window.screen_widget(ScreenId.DEPOSIT_CHECK)
    texts = screen.findChildren(QLabel) + screen.findChildren(QPushButton)
    shown = [w.text() for w in texts if w.isVisible()]
    assert not any("RET-77" in text for text in shown)


# door_open for couriers and returns ------------------------------------------------------------------------

def door_view(audience: DoorAudience, doors: tuple[str, ...] = ("C03",), **extra: str) -> DoorOpenView:
    return DoorOpenView(doors, sample_cells(list(doors)), False, audience, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("view", "instruction", "buttons"),
    [
        (door_view(DoorAudience.RECIPIENT), "Take your parcel and close the door.", {"door_problem_button"}),
        (door_view(DoorAudience.COURIER_DEPOSIT, parcel_id="JJD0003900071"),
         "Put parcel JJD0003900071 in door C03 and close it.", {"too_small_button", "door_failed_button"}),
        (door_view(DoorAudience.COURIER_COLLECT, ("C03", "D02")), "Take the parcels out and close the doors.",
         {"door_failed_button"}),
        (door_view(DoorAudience.COURIER_COLLECT), "Take the parcel out and close the door.",
         {"door_failed_button"}),
        (door_view(DoorAudience.RETURN), "Put your parcel in door C03 and close it.", set()),
    ],
)
def test_the_door_screen_offers_what_the_person_at_the_door_can_say(
    kiosk_ui: Kiosk, view: DoorOpenView, instruction: str, buttons: set[str]
) -> None:
    screen = kiosk_ui.show(ScreenId.DOOR_OPEN, view)
    assert text_of(kiosk_ui, "instruction_label") == instruction
    offered = {b.objectName() for b in screen.findChildren(QPushButton) if b.isVisibleTo(screen)}
    assert offered == buttons
    assert text_of(kiosk_ui, "moved_label") == ""


def test_a_courier_at_the_door_can_say_too_small_or_not_open(kiosk_ui: Kiosk) -> None:
    moved = door_view(DoorAudience.COURIER_DEPOSIT, parcel_id="P-1", moved_from="A03")
    kiosk_ui.show(ScreenId.DOOR_OPEN, moved)
    assert text_of(kiosk_ui, "title_label") == "Door C03 is open"
    assert text_of(kiosk_ui, "moved_label") == "Moved from door A03."
    assert text_of(kiosk_ui, "too_small_button") == "Too small"
    assert text_of(kiosk_ui, "door_failed_button") == "Door did not open"
    kiosk_ui.tap("too_small_button")
    kiosk_ui.tap("door_failed_button")
    assert kiosk_ui.flows.sent() == [(Intent.TOO_SMALL, {}), (Intent.DOOR_FAILED, {})]


# handles, names and German ----------------------------------------------------------------------------------

COURIER_VIEWS: list[tuple[ScreenId, ViewModel]] = [
    (ScreenId.COURIER_LOGIN, CourierLoginView(CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=1)),
    (ScreenId.COURIER_MENU, CourierMenuView("Anna", True, 2, 1, 1)),
    (ScreenId.COURIER_SCAN, CourierScanView(1, 0, CourierNotice.DEPOSITED, "P-1", "A01")),
    (ScreenId.COURIER_SIZE, CourierSizeView("P-1", (Size.L,))),
    (ScreenId.COURIER_COLLECT,
     CourierCollectView((collect_item("P-1", "A03"), collect_item("P-2", "B01", collected=True)))),
    (ScreenId.COURIER_SUMMARY, CourierSummaryView("Anna", 1, 0, 1, 0)),
    (ScreenId.DEPOSIT_CHECK, DepositCheckView("A01", "P-1", still_inside=False, courier=True)),
    (ScreenId.DOOR_OPEN, door_view(DoorAudience.COURIER_DEPOSIT, parcel_id="P-1")),
]


@pytest.mark.parametrize(("screen_id", "view"), COURIER_VIEWS, ids=[s.value for s, _ in COURIER_VIEWS])
def test_every_courier_control_has_a_handle_a_name_and_room_for_a_finger(
    kiosk_ui: Kiosk, screen_id: ScreenId, view: ViewModel
) -> None:
    screen = kiosk_ui.show(screen_id, view)
    assert screen.objectName() == screen_id.value
    controls: list[QWidget] = [*screen.findChildren(QAbstractButton), *screen.findChildren(EntryField)]
    for control in controls:
        assert control.objectName(), f"{type(control).__name__} {control.accessibleName()!r}: no objectName"
        assert control.accessibleName(), f"{control.objectName()} has no accessibleName"
        if control.isVisibleTo(screen):
            assert control.height() >= MIN_TOUCH_PX, control.objectName()


def test_courier_screens_speak_german(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.tap("language_button")
    qtbot.waitUntil(lambda: kiosk_ui.window.language() == "de", timeout=2000)
    QCoreApplication.sendPostedEvents()
    assert text_of(kiosk_ui, "courier_button") == "Kurier"
    expectations = [
        (Screen(ScreenId.COURIER_LOGIN,
                CourierLoginView(CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=4)),
         "status_label", "Kurier-ID, PIN oder Ausweis nicht erkannt. Noch 1 Versuch bis zu einer Pause."),
        (Screen(ScreenId.COURIER_MENU, CourierMenuView("Anna", True, 3, 0, 0)),
         "courier_collect_button_caption", "3 Pakete warten"),
        (Screen(ScreenId.COURIER_SCAN, CourierScanView(1, 0, CourierNotice.DEPOSITED, "P-1", "D05")),
         "notice_label", "Paket P-1 liegt in Fach D05. Scannen Sie das nächste."),
        (Screen(ScreenId.COURIER_SIZE, CourierSizeView("P-1", (Size.M,))), "size_M_caption", "Mittel"),
        (Screen(ScreenId.COURIER_COLLECT, CourierCollectView((collect_item("P-1", "A03"),))),
         "open_all_button", "1 Fach öffnen"),
        (Screen(ScreenId.COURIER_SUMMARY, CourierSummaryView("Anna", 1, 0, 0, 2)),
         "faults_label", "2 Fächer gingen nicht auf; sie wurden gemeldet und gesperrt."),
        (Screen(ScreenId.DEPOSIT_CHECK, DepositCheckView("D05", "P-1", still_inside=False, courier=True)),
         "skip_button", "Ich habe das Paket behalten"),
        (Screen(ScreenId.DOOR_OPEN, door_view(DoorAudience.COURIER_DEPOSIT, parcel_id="P-1")),
         "too_small_button", "Zu klein"),
    ]
    for screen, object_name, german in expectations:
        kiosk_ui.show(screen.id, screen.view)
        assert text_of(kiosk_ui, object_name) == german
    kiosk_ui.show(ScreenId.COURIER_LOGIN, CourierLoginView())
    assert kiosk_ui.widget("key_back").accessibleName() == "Letztes Zeichen löschen"
