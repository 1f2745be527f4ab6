"""The surface the UI (through its bridge) and the QA driver use to talk to the flows."""

from __future__ import annotations

from typing import Protocol

from kiosk.core.flows.views import Intent, Screen
from kiosk.core.model import DoorState


class FlowListener(Protocol):
    """Called on the event-loop thread whenever the kiosk shows something new."""

    def on_screen(self, screen: Screen) -> None: ...

    def on_door(self, compartment_id: str, state: DoorState) -> None: ...


class Flows(Protocol):
    """Implemented by kiosk.core.flows.controller.KioskController."""

    @property
    def screen(self) -> Screen: ...

    def add_listener(self, listener: FlowListener) -> None: ...

    def intent(self, intent: Intent, **arguments: object) -> None:
        """Never blocks: long work (doors) continues as tasks and reports through listeners."""
        ...
