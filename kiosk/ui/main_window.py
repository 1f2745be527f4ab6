"""The kiosk's one window: a stack of screens that follows what the flows say to show."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QWidget

from kiosk.core.flows.views import HomeView, Intent, Screen, ScreenId
from kiosk.core.model import DoorState
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.camera_preview import CameraPreview
from kiosk.ui.i18n import LANGUAGE_NAMES, LANGUAGES, SOURCE_LANGUAGE, Translator
from kiosk.ui.screens import SCREEN_CLASSES, DoorOpenScreen, HomeScreen, ScreenWidget
from kiosk.ui.theme import HIGH_CONTRAST, LIGHT, apply_theme
from kiosk.ui.wedge import WedgeFilter

log = logging.getLogger(__name__)

WINDOWED_SIZE = (1280, 800)
_ACTIVITY_EVENTS = frozenset({
    QEvent.Type.MouseButtonPress,
    QEvent.Type.TouchBegin,
    QEvent.Type.KeyPress,
})


class ActivityFilter(QObject):
    """Application-wide: any touch, click or key press anywhere tells the flows someone is there.

    A press travels window -> widget -> parents (when the widget ignores it). Only the delivery to the
    widget it landed on is both spontaneous and to a QWidget, so each press is reported exactly once. (Keys
    the WedgeFilter holds back and replays come back as fresh, not spontaneous, events: not counted twice.)
    """

    def __init__(self, bridge: CoreBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY_EVENTS and event.spontaneous() and isinstance(watched, QWidget):
            self._bridge.send(Intent.ACTIVITY)
        return False


def _camera_preview_of(screen: QWidget | None) -> CameraPreview | None:
    """The live camera picture a screen shows (pickup_scan, pickup_face, face_enrol), if it shows one."""
    preview = getattr(screen, "preview", None)
    return preview if isinstance(preview, CameraPreview) else None


class ScreenStack(QStackedWidget):
    """The window's size is the display's: a screen must fit it (the UI tests check that), never grow it.

    Without this, the tallest stacked layout would set a minimum window size, and turning a portrait
    layout into landscape could never shrink the window back.
    """

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0)


class MainWindow(QMainWindow):
    """Shows one screen widget per ScreenId; the visible one always renders the latest view model.

    layout_info: a short line about this locker shown on the home screen (site, locker number).
    default_language: the language every new customer starts in; idle returns to it.
    windowed: a normal 1280x800 window for development instead of the frameless full screen.
    """

    closed = Signal()  # the window was closed (the kiosk ends: its services stop first, then the loop)

    def __init__(
        self,
        bridge: CoreBridge,
        *,
        layout_info: str | None = None,
        default_language: str = SOURCE_LANGUAGE,
        windowed: bool = False,
        translator: Translator | None = None,
        theme: str = LIGHT,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            raise RuntimeError("MainWindow needs a QApplication")
        self._app = app
        self._bridge = bridge
        self._translator = translator if translator is not None else Translator(app)
        if default_language not in LANGUAGES:
            log.warning("Unknown default language %r; using %s", default_language, SOURCE_LANGUAGE)
            default_language = SOURCE_LANGUAGE
        self._default_language = default_language
        self._default_theme = theme
        self._accessible_mode = False

        self._stack = ScreenStack()
        self._stack.setObjectName("screens")
        # Screens are built the first time they are needed: most visitors see three or four of the twenty,
        # and building them all would cost start-up time and memory for screens a locker may never show.
        self._screen_classes = {screen_class.screen_id: screen_class for screen_class in SCREEN_CLASSES}
        self._screens: dict[ScreenId, ScreenWidget[Any]] = {}
        self.setCentralWidget(self._stack)

        home = self.home_screen
        home.set_location(layout_info or "")
        home.language_requested.connect(self.switch_language)
        home.accessibility_toggled.connect(self.set_accessible_mode)

        # The filter installed last sees an event first: the activity filter must see every key press
        # before the wedge filter holds it back (or swallows it into a scan).
        self._wedge = WedgeFilter(bridge.send, parent=self)
        app.installEventFilter(self._wedge)
        self._activity = ActivityFilter(bridge, self)
        app.installEventFilter(self._activity)
        bridge.screen_changed.connect(self.show_screen)
        bridge.door_changed.connect(self._door_changed)
        bridge.frame_ready.connect(self._show_frame)

        apply_theme(app, theme)
        self.set_language(default_language)
        self.show_screen(bridge.current_screen())

        self.setWindowTitle(self.tr("Parcel locker"))
        if windowed:
            self.resize(*WINDOWED_SIZE)
        else:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
            # The whole screen even where no window manager honours the full-screen state (a bare X
            # server, some kiosk sessions).
            self.setGeometry(self.screen().geometry())
            self.setWindowState(Qt.WindowState.WindowFullScreen)

    def _screen(self, screen_id: ScreenId) -> ScreenWidget[Any]:
        screen = self._screens.get(screen_id)
        if screen is None:
            screen = self._screen_classes[screen_id](self._bridge.send)
            self._screens[screen_id] = screen
            self._stack.addWidget(screen)
            preview = _camera_preview_of(screen)
            if preview is not None:
                # Hidden, it gave up its last frame (clear()): that one will never be painted either.
                preview.frame_consumed.connect(self._bridge.frame_shown)
        return screen

    def _show_frame(self, frame: object) -> None:
        """Hand a camera frame to the picture on display, only to that one: a hidden preview would let go of
        each frame at once and so let the next in before the visible one has painted."""
        preview = _camera_preview_of(self._stack.currentWidget())
        if preview is None:
            self._bridge.frame_shown()  # the screen changed while it was on its way: nothing will show it
            return
        preview.show_frame(frame)

    @property
    def home_screen(self) -> HomeScreen:
        screen = self._screen(ScreenId.HOME)
        assert isinstance(screen, HomeScreen)
        return screen

    @property
    def translator(self) -> Translator:
        return self._translator

    @property
    def wedge_filter(self) -> WedgeFilter:
        return self._wedge

    def screen_widget(self, screen_id: ScreenId | str) -> ScreenWidget[Any]:
        """The widget of one screen (built now if it never was)."""
        return self._screen(ScreenId(screen_id))

    def screen_widgets(self) -> list[ScreenWidget[Any]]:
        """Every screen's widget, building those never shown yet."""
        return [self._screen(screen_id) for screen_id in self._screen_classes]

    def current_screen_id(self) -> str:
        current = self._stack.currentWidget()
        return current.objectName() if current is not None else ""

    def language(self) -> str:
        return self._translator.language

    def accessible_mode(self) -> bool:
        return self._accessible_mode

    def show_screen(self, screen: object) -> None:
        """Render and raise the screen the flows asked for; anything malformed is logged and ignored."""
        if not isinstance(screen, Screen) or not isinstance(screen.id, ScreenId):
            log.error("Ignoring a screen change that is not a Screen: %r", screen)
            return
        widget = self._screen(screen.id)
        if isinstance(screen.view, HomeView) and screen.view.idle_return:
            # The last visitor walked away: the next one starts from the kiosk's own defaults.
            self.set_language(self._default_language)
            self.set_accessible_mode(False)
        if widget.set_view(screen.view):
            self._stack.setCurrentWidget(widget)
        showing_camera = _camera_preview_of(self._stack.currentWidget()) is not None
        if showing_camera != self._bridge.preview_wanted():
            self._bridge.set_preview_wanted(showing_camera)

    def set_language(self, language: str) -> bool:
        changed = self._translator.set_language(language)
        others = [lang for lang in LANGUAGES if lang != self._translator.language
                  and self._translator.can_show(lang)]
        self.home_screen.set_other_language(LANGUAGE_NAMES[others[0]] if others else "")
        return changed

    def switch_language(self) -> None:
        """Move on to the next language the kiosk can show (with two: toggle)."""
        current = LANGUAGES.index(self._translator.language)
        for step in range(1, len(LANGUAGES)):
            candidate = LANGUAGES[(current + step) % len(LANGUAGES)]
            if self._translator.can_show(candidate):
                self.set_language(candidate)
                return

    def set_accessible_mode(self, on: bool) -> None:
        """High contrast and large text on or off, for the whole window."""
        if on == self._accessible_mode:
            return
        self._accessible_mode = on
        apply_theme(self._app, HIGH_CONTRAST if on else self._default_theme)
        self.home_screen.set_accessibility(on)

    def closeEvent(self, event: QCloseEvent) -> None:
        # A closed kiosk window takes no more keys and wants no more frames; what was typed still arrives.
        self._wedge.flush()
        self._app.removeEventFilter(self._activity)
        self._app.removeEventFilter(self._wedge)
        self._bridge.set_preview_wanted(False)
        super().closeEvent(event)
        self.closed.emit()

    def _door_changed(self, compartment_id: str, state: object) -> None:
        if not isinstance(state, DoorState):
            log.error("Ignoring door change of %s to %r: not a DoorState", compartment_id, state)
            return
        door_screen = self._screens.get(ScreenId.DOOR_OPEN)
        if door_screen is None:
            return  # never shown: it renders the doors' states from its view when it first is
        assert isinstance(door_screen, DoorOpenScreen)
        door_screen.set_door_state(compartment_id, state)
