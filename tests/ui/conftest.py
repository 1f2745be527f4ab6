"""UI tests: real widgets on the offscreen platform, driven through a small recording Flows object."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from ui_rig import TS_FILES, Kiosk, RecordingFlows

from kiosk.ui.bridge import CoreBridge
from kiosk.ui.i18n import Translator
from kiosk.ui.main_window import MainWindow
from kiosk.ui.theme import LIGHT, apply_theme


@pytest.fixture(autouse=True)
def qt_event_loops_run(qapp: QApplication) -> None:
    """pytest-qt waits run a nested QEventLoop; after a stray QCoreApplication.exit() (qasync's
    QEventLoop.stop() calls it) every such loop returns at once and each wait silently times out."""
    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    if loop.exec() == -1:
        pytest.fail("Qt event loops exit at once: an earlier test called QCoreApplication.exit() "
                    "outside app.exec() (e.g. qasync QEventLoop.stop()), so no wait can work")


@pytest.fixture(scope="session")
def translations_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .qm files built from the committed .ts sources with Qt's own lrelease."""
    directory = tmp_path_factory.mktemp("translations")
    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    for ts in TS_FILES:
        subprocess.run([str(lrelease), "-silent", str(ts), "-qm", str(directory / f"{ts.stem}.qm")],
                       check=True, timeout=60)
    return directory


@pytest.fixture
def kiosk_ui(qtbot: QtBot, qapp: QApplication, translations_dir: Path) -> Iterator[Kiosk]:
    flows = RecordingFlows()
    bridge = CoreBridge(flows)
    window = MainWindow(bridge, windowed=True, translator=Translator(qapp, translations_dir),
                        layout_info="Locker 0421 · Central Station")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield Kiosk(flows, bridge, window)
    # The translator and the stylesheet belong to the application, which outlives this test.
    window.translator.uninstall()
    apply_theme(qapp, LIGHT)
    # Delete the window now: every later stylesheet change would otherwise restyle it again.
    window.close()
    window.deleteLater()
    bridge.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
