"""The UI test rig: a recording Flows object and a handle on one kiosk window (imported by conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core.flows.api import FlowListener
from kiosk.core.flows.views import HomeView, Intent, Screen, ScreenId, ViewModel
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
TS_FILES = sorted((REPO / "translations").glob("kiosk_*.ts"))


class RecordingFlows:
    """A Flows that shows what the test tells it to and records every intent the UI sends."""

    def __init__(self, screen: Screen | None = None) -> None:
        self._screen = screen or Screen(ScreenId.HOME, HomeView())
        self._listeners: list[FlowListener] = []
        self.intents: list[tuple[Intent, dict[str, object]]] = []

    @property
    def screen(self) -> Screen:
        return self._screen

    def add_listener(self, listener: FlowListener) -> None:
        self._listeners.append(listener)

    def intent(self, intent: Intent, **arguments: object) -> None:
        self.intents.append((intent, arguments))

    def show(self, screen: Screen) -> None:
        self._screen = screen
        for listener in self._listeners:
            listener.on_screen(screen)

    def sent(self) -> list[tuple[Intent, dict[str, object]]]:
        """Everything but ACTIVITY, which every press also sends."""
        return [(intent, arguments) for intent, arguments in self.intents if intent is not Intent.ACTIVITY]


class SteppingClock:
    """A monotonic clock that moves on by `step` seconds each time it is read.

    Given to the WedgeFilter, it makes keys typed in one go arrive "at a person's pace" (each one `step`
    after the last) without a test having to sleep; a step well under the filter's gap makes them a burst.
    """

    def __init__(self, step: float, start: float = 1000.0) -> None:
        self.step = step
        self.now = start

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@dataclass
class Kiosk:
    flows: RecordingFlows
    bridge: CoreBridge
    window: MainWindow

    def show(self, screen_id: ScreenId, view: ViewModel) -> QWidget:
        self.flows.show(Screen(screen_id, view))
        assert self.window.current_screen_id() == screen_id.value
        return self.window.screen_widget(screen_id)

    def widget(self, object_name: str) -> QWidget:
        screen = self.window.screen_widget(self.window.current_screen_id())
        found = screen.findChild(QWidget, object_name)
        assert found is not None, f"no {object_name!r} on {screen.objectName()}"
        return found

    def tap(self, object_name: str) -> None:
        widget = self.widget(object_name)
        assert widget.isVisible() and widget.isEnabled(), f"{object_name} cannot be tapped"
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(widget.width() // 2, widget.height() // 2))

    def resize(self, width: int, height: int) -> None:
        self.window.resize(width, height)
        QApplication.processEvents()
        assert (self.window.width(), self.window.height()) == (width, height)
