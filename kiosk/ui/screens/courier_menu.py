"""Courier menu: deliver or collect, this session's counts, and log out."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.core.flows.views import CourierMenuView, Intent, ScreenId
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    IntentSink,
    TileButton,
    fill,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)

TILE_PX = 200
TILE_MAX_PX = 380


class CourierMenuScreen(ScreenWidget[CourierMenuView]):
    screen_id = ScreenId.COURIER_MENU
    view_type = CourierMenuView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        initial = CourierMenuView(courier_name="", can_collect=False, collectable=0, delivered=0, collected=0)
        super().__init__(send, initial, parent)
        self._greeting = text_label("greeting_label", "hero")
        self._session = text_label("session_label", "subtitle")
        intro = QVBoxLayout()
        intro.setSpacing(12)
        intro.addWidget(self._greeting)
        intro.addWidget(self._session)

        self.courier_dropoff_button = TileButton(
            "courier_dropoff_button", role="tile_primary", min_height=TILE_PX
        )
        self.courier_dropoff_button.clicked.connect(lambda: self._send(Intent.COURIER_DROPOFF))
        self.courier_collect_button = TileButton(
            "courier_collect_button", role="tile_secondary", min_height=TILE_PX
        )
        self.courier_collect_button.clicked.connect(lambda: self._send(Intent.COURIER_COLLECT))
        tiles = self.flip_box(portrait_stretch=(1, 1))
        for tile in (self.courier_dropoff_button, self.courier_collect_button):
            tile.setMaximumHeight(TILE_MAX_PX)
            tiles.addWidget(tile, 1)

        self.outer.addLayout(intro)
        self.outer.addStretch(1)
        self.outer.addLayout(tiles, 4)
        self.outer.addStretch(1)

        self.courier_logout_button = touch_button("courier_logout_button", role="secondary")
        self.courier_logout_button.clicked.connect(lambda: self._send(Intent.LOGOUT))
        self.footer.addWidget(self.courier_logout_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def render_view(self) -> None:
        view = self._view
        name = " ".join(view.courier_name.split())
        set_label_text(self._greeting, fill(self.tr("Hello, %1"), name) if name else self.tr("Hello"))
        set_label_text(self._session, fill(self.tr("This session: %1 delivered, %2 collected."),
                                           str(view.delivered), str(view.collected)))
        self.courier_dropoff_button.set_texts(self.tr("Deliver parcels"),
                                              self.tr("Scan one label after another"))
        if not view.can_collect:
            caption = self.tr("Your login does not include collecting")
        elif view.collectable <= 0:
            caption = self.tr("Nothing to collect here")
        else:
            caption = self.tr("%n parcels waiting", "", view.collectable)
        self.courier_collect_button.set_texts(self.tr("Collect parcels"), caption)
        self.courier_collect_button.setEnabled(view.can_collect and view.collectable > 0)
        set_button_text(self.courier_logout_button, self.tr("Log out"))
