"""The one QObject between core and Qt: core's listener calls become Qt signals on the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from kiosk.core.flows.api import Flows
from kiosk.core.flows.views import Intent, Screen
from kiosk.core.model import DoorState

log = logging.getLogger(__name__)


class CoreBridge(QObject):
    """Listens to the flows (FlowListener) and forwards the user's intents to them.

    Signals are delivered on the thread this object lives in (the GUI thread): Qt queues an emission
    made from any other thread, so core may call on_screen/on_door from wherever its loop runs.
    """

    screen_changed = Signal(object)  # Screen
    door_changed = Signal(str, object)  # compartment id, DoorState

    def __init__(self, flows: Flows, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._flows = flows
        flows.add_listener(self)

    @property
    def flows(self) -> Flows:
        return self._flows

    def current_screen(self) -> Screen:
        return self._flows.screen

    # FlowListener
    def on_screen(self, screen: Screen) -> None:
        self.screen_changed.emit(screen)

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        self.door_changed.emit(compartment_id, state)

    def send(self, intent: Intent, /, **arguments: object) -> None:
        """Forward one intent; a failure in the flows is logged, never allowed to take the screen down."""
        try:
            self._flows.intent(intent, **arguments)
        except Exception:
            log.exception("The flows failed on intent %s with %r", intent.name, arguments)
