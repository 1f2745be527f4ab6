"""Languages: German switches every screen live, idle returns to the default, and the .ts are complete."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot
from ui_rig import REPO, TS_FILES, Kiosk, RecordingFlows

from kiosk.core.flows.views import (
    DoorOpenView,
    ErrorReason,
    ErrorView,
    HomeView,
    LockedOutView,
    MoreTimeView,
    PickupCodeView,
    ScreenId,
    ThankYouView,
)
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.i18n import Translator
from kiosk.ui.main_window import MainWindow
from kiosk.ui.preview import sample_cells
from kiosk.ui.theme import HIGH_CONTRAST, LIGHT, current_theme


def text_of(kiosk: Kiosk, object_name: str) -> str:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QLabel | QPushButton)
    return widget.text()


def switch_to_german(kiosk: Kiosk, qtbot: QtBot) -> None:
    assert kiosk.window.language() == "en"
    assert text_of(kiosk, "language_button") == "Deutsch"
    kiosk.tap("language_button")
    qtbot.waitUntil(lambda: text_of(kiosk, "language_button") == "English", timeout=2000)
    assert kiosk.window.language() == "de"
    # Qt posts LanguageChange to every window; deliver it before looking at hidden screens.
    QCoreApplication.sendPostedEvents()


def test_the_language_button_switches_the_visible_screen_live(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    assert text_of(kiosk_ui, "pickup_button_title") == "Pick up a parcel"
    switch_to_german(kiosk_ui, qtbot)
    qtbot.waitUntil(lambda: text_of(kiosk_ui, "pickup_button_title") == "Paket abholen", timeout=2000)
    assert text_of(kiosk_ui, "title_label") == "Willkommen"
    kiosk_ui.tap("language_button")
    qtbot.waitUntil(lambda: text_of(kiosk_ui, "pickup_button_title") == "Pick up a parcel", timeout=2000)


def test_screens_hidden_during_the_switch_come_up_in_german_too(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.show(ScreenId.LOCKED_OUT, LockedOutView(seconds_left=61))
    kiosk_ui.show(ScreenId.HOME, HomeView())
    switch_to_german(kiosk_ui, qtbot)
    kiosk_ui.show(ScreenId.LOCKED_OUT, LockedOutView(seconds_left=61))
    assert text_of(kiosk_ui, "title_label") == "Zu viele falsche Codes."
    assert text_of(kiosk_ui, "message_label") == "Bitte warten Sie 1:01"
    kiosk_ui.show(ScreenId.DOOR_OPEN, DoorOpenView(("A07",), sample_cells(["A07"]), waiting_for_unlock=False))
    assert text_of(kiosk_ui, "title_label") == "Fach A07 ist offen"
    kiosk_ui.show(ScreenId.DOOR_OPEN,
                  DoorOpenView(("A07", "B02"), sample_cells(["A07", "B02"]), waiting_for_unlock=True))
    assert text_of(kiosk_ui, "title_label") == "Fächer A07 und B02 werden geöffnet …"
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView())
    assert text_of(kiosk_ui, "key_ok") == "OK"
    assert kiosk_ui.widget("key_clear").accessibleName() == "Letzte Ziffer löschen"
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(parcels_picked_up=1))
    assert text_of(kiosk_ui, "message_label") == "Sie haben 1 Paket abgeholt."
    kiosk_ui.show(ScreenId.ERROR, ErrorView(ErrorReason.DOOR_FAULT, "A07"))
    assert text_of(kiosk_ui, "title_label") == "Fach A07 ließ sich nicht öffnen."


def test_the_screen_on_display_retranslates_without_a_new_view(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    switch_to_german(kiosk_ui, qtbot)
    kiosk_ui.show(ScreenId.MORE_TIME, MoreTimeView(seconds_left=12, returns_to=ScreenId.HOME))
    assert text_of(kiosk_ui, "message_label") == "Sonst geht es in 12 Sekunden zurück zum Start."
    kiosk_ui.window.set_language("en")
    qtbot.waitUntil(lambda: text_of(kiosk_ui, "message_label").endswith("in 12 seconds."), timeout=2000)


def test_idle_return_resets_language_and_accessibility(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    switch_to_german(kiosk_ui, qtbot)
    kiosk_ui.tap("accessibility_button")
    assert kiosk_ui.window.accessible_mode()
    assert current_theme(QApplication.instance()) == HIGH_CONTRAST  # type: ignore[arg-type]
    kiosk_ui.show(ScreenId.HOME, HomeView(idle_return=False))
    assert kiosk_ui.window.language() == "de"
    kiosk_ui.show(ScreenId.HOME, HomeView(idle_return=True))
    assert kiosk_ui.window.language() == "en"
    assert not kiosk_ui.window.accessible_mode()
    assert current_theme(QApplication.instance()) == LIGHT  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: text_of(kiosk_ui, "pickup_button_title") == "Pick up a parcel", timeout=2000)
    assert not kiosk_ui.widget("accessibility_button").isChecked()  # type: ignore[attr-defined]


def test_a_german_kiosk_returns_to_german(qtbot: QtBot, qapp: QApplication, translations_dir: Path) -> None:
    window = MainWindow(CoreBridge(RecordingFlows()), windowed=True, default_language="de",
                        translator=Translator(qapp, translations_dir))
    qtbot.addWidget(window)
    try:
        assert window.language() == "de"
        window.set_language("en")
        window.show_screen(RecordingFlows().screen.__class__(ScreenId.HOME, HomeView(idle_return=True)))
        assert window.language() == "de"
    finally:
        window.translator.uninstall()


def test_a_missing_translation_is_a_warning_not_a_crash(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    translator = Translator(qapp, tmp_path)  # no .qm files at all
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.i18n"):
        assert translator.set_language("de") is False
        assert translator.set_language("fr") is False
        assert translator.set_language("en") is True
    assert translator.language == "en"
    assert f"No translation file {tmp_path / 'kiosk_de.qm'}" in caplog.text
    assert "Unknown language 'fr'" in caplog.text
    # A window that cannot show German does not offer it.
    window = MainWindow(CoreBridge(RecordingFlows()), windowed=True, translator=translator)
    qtbot.addWidget(window)
    assert not window.home_screen.language_button.isVisibleTo(window)
    window.deleteLater()


def test_a_corrupt_qm_file_is_a_warning_not_a_crash(
    qapp: QApplication, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "kiosk_de.qm").write_bytes(b"not a qm file")
    translator = Translator(qapp, tmp_path)
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.i18n"):
        assert translator.set_language("de") is False
    assert "kiosk_de.qm" in caplog.text


def messages(ts_file: Path) -> list[ET.Element]:
    return list(ET.parse(ts_file).getroot().iter("message"))


@pytest.mark.parametrize("ts_file", TS_FILES, ids=lambda path: path.name)
def test_every_translation_is_finished(ts_file: Path) -> None:
    unfinished = []
    for message in messages(ts_file):
        translation = message.find("translation")
        assert translation is not None
        forms = [form.text for form in translation.findall("numerusform")] or [translation.text]
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not all(forms):
            unfinished.append(message.findtext("source"))
        if message.get("numerus") == "yes":
            assert len(forms) == 2, message.findtext("source")
    assert unfinished == []


def test_lupdate_finds_nothing_untranslated_in_the_code(tmp_path: Path) -> None:
    """Every tr() string in kiosk/ui is in kiosk_de.ts, translated: re-extract and compare."""
    fresh = tmp_path / "kiosk_de.ts"
    shutil.copy(REPO / "translations" / "kiosk_de.ts", fresh)
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    command = [str(lupdate), "-silent", "-extensions", "py", str(REPO / "kiosk" / "ui"), "-ts", str(fresh)]
    subprocess.run(command, check=True, timeout=60, cwd=REPO)
    untranslated = [m.findtext("source") for m in messages(fresh)
                    if m.find("translation") is not None
                    and m.find("translation").get("type") == "unfinished"]  # type: ignore[union-attr]
    assert untranslated == [], "strings in kiosk/ui missing from translations/kiosk_de.ts"
    german = (REPO / "translations" / "kiosk_de.ts").read_text(encoding="utf-8")
    for words in ("Paket abholen", "Fach %1 ist offen", "Türen", "schließen", "Zurück zum Start"):
        assert words in german
