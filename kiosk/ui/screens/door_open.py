"""Door open: which doors to go to, shown in words and on the locker map; what the person there can say
depends on who they are (a recipient, a courier delivering or collecting, a customer returning)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.core.flows.views import DoorAudience, DoorOpenView, Intent, ScreenId
from kiosk.core.model import DoorState
from kiosk.ui.locker_map import LockerMap
from kiosk.ui.parcel_text import short_id
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    IntentSink,
    fill,
    join_doors,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)


class DoorOpenScreen(ScreenWidget[DoorOpenView]):
    screen_id = ScreenId.DOOR_OPEN
    view_type = DoorOpenView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, DoorOpenView(compartment_ids=(), cells=(), waiting_for_unlock=True), parent)
        self._title = text_label("title_label", "hero")
        self._instruction = text_label("instruction_label", "subtitle")
        self._moved = text_label("moved_label", "notice")
        self._map_hint = text_label("map_hint_label", "caption")
        info = QVBoxLayout()
        info.setSpacing(24)
        info.addItem(self.landscape_spacer())
        info.addWidget(self._title)
        info.addWidget(self._instruction)
        info.addWidget(self._moved)
        info.addWidget(self._map_hint)
        info.addItem(self.landscape_spacer())

        self.locker_map = LockerMap()
        body = self.flip_box(landscape_stretch=(5, 4), portrait_stretch=(0, 1))
        body.addLayout(info)
        body.addWidget(self.locker_map)
        self.outer.addLayout(body, 1)

        self.door_problem_button = touch_button("door_problem_button", role="quiet")
        self.door_problem_button.clicked.connect(lambda: self._send(Intent.REPORT_PROBLEM))
        self.too_small_button = touch_button("too_small_button", role="secondary")
        self.too_small_button.clicked.connect(lambda: self._send(Intent.TOO_SMALL))
        self.door_failed_button = touch_button("door_failed_button", role="quiet")
        self.door_failed_button.clicked.connect(lambda: self._send(Intent.DOOR_FAILED))
        self.footer.addWidget(self.door_problem_button, 1)
        self.footer.addWidget(self.too_small_button, 1)
        self.footer.addWidget(self.door_failed_button, 1)
        self.footer.addStretch(1)
        self.finish_layout()

    def set_door_state(self, compartment_id: str, state: DoorState) -> None:
        self.locker_map.set_door_state(compartment_id, state)

    def render_view(self) -> None:
        view = self._view
        audience = view.audience
        closed = {cell.compartment_id for cell in view.cells if cell.door is DoorState.CLOSED}
        # Once a door of several is shut again, the title speaks only of the ones still open.
        waiting_at = [cid for cid in view.compartment_ids if cid not in closed] or list(view.compartment_ids)
        doors = len(waiting_at)
        names = join_doors(waiting_at)
        if view.waiting_for_unlock:
            title = fill(self.tr("Opening doors %1…", "", doors), names)
        else:
            title = fill(self.tr("Doors %1 are open", "", doors), names)
        set_label_text(self._title, title)
        set_label_text(self._instruction, self._instruction_text(names, doors))
        moved_from = view.moved_from if audience is DoorAudience.COURIER_DEPOSIT else None
        set_label_text(self._moved, fill(self.tr("Moved from door %1."), moved_from) if moved_from else "")
        set_label_text(self._map_hint, self.tr("Your doors are highlighted on the map.", "", doors))
        self.locker_map.set_cells(view.cells)
        self.locker_map.setAccessibleName(fill(self.tr("Locker map, your doors: %1"), names))
        set_button_text(self.door_problem_button, self.tr("The door did not open", "", doors))
        set_button_text(self.too_small_button, self.tr("Too small"),
                        self.tr("The compartment is too small: open a bigger one"))
        set_button_text(self.door_failed_button, self.tr("Door did not open"))
        self.door_problem_button.setVisible(audience is DoorAudience.RECIPIENT)
        self.too_small_button.setVisible(audience is DoorAudience.COURIER_DEPOSIT)
        self.door_failed_button.setVisible(audience in (DoorAudience.COURIER_DEPOSIT,
                                                        DoorAudience.COURIER_COLLECT))

    def _instruction_text(self, names: str, doors: int) -> str:
        view = self._view
        audience = view.audience
        if audience is DoorAudience.COURIER_DEPOSIT:
            if view.parcel_id:
                parcel = short_id(view.parcel_id)
                return fill(self.tr("Put parcel %1 in door %2 and close it."), parcel, names)
            return fill(self.tr("Put the parcel in door %1 and close it."), names)
        if audience is DoorAudience.COURIER_COLLECT:
            return self.tr("Take the parcels out and close the doors.", "", doors)
        if audience is DoorAudience.RETURN:
            return fill(self.tr("Put your parcel in door %1 and close it."), names)
        return self.tr("Take your parcels and close the doors.", "", doors)
