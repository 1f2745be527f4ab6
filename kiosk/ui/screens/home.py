"""Home: pick up or send/return, the language switch and the accessibility toggle."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from kiosk.core.flows.views import HomeNotice, HomeView, Intent, PlatformConnection, ScreenId
from kiosk.ui.logo import Logo
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    MIN_TOUCH_PX,
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


class HomeScreen(ScreenWidget[HomeView]):
    screen_id = ScreenId.HOME
    view_type = HomeView

    language_requested = Signal()  # the user wants the other language
    accessibility_toggled = Signal(bool)  # high-contrast, large-text mode on or off

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, HomeView(), parent)
        self._other_language_name = ""
        self._location = ""

        self.logo = Logo()
        self._brand = text_label("brand_label", "brand")
        brand_row = QHBoxLayout()
        brand_row.setSpacing(20)
        brand_row.addWidget(self.logo)
        brand_row.addWidget(self._brand)
        self._location_label = text_label("location_label", "caption")
        self._location_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Where the platform link stands: a quiet line a technician or a curious recipient can read.
        self._platform_label = text_label("platform_label", "caption")
        self._platform_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        place = QVBoxLayout()
        place.setSpacing(4)
        place.addWidget(self._location_label)
        place.addWidget(self._platform_label)
        brand_row.addLayout(place, 1)
        # Couriers come daily and know where to look: a quiet corner button that recipients pass over,
        # away from the footer the visitors use (language, accessibility).
        self.courier_button = touch_button("courier_button", role="quiet", min_height=MIN_TOUCH_PX)
        self.courier_button.setProperty("size", "small")
        self.courier_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.courier_button.clicked.connect(lambda: self._send(Intent.START_COURIER))
        brand_row.addWidget(self.courier_button, 0, Qt.AlignmentFlag.AlignVCenter)

        self._title = text_label("title_label", "hero")
        self._subtitle = text_label("subtitle_label", "subtitle")
        self._notice = text_label("notice_label", "notice")
        self._notice.setWordWrap(True)
        self._notice.setVisible(False)
        self._out_of_service = text_label("out_of_service_label", "error")
        self._out_of_service.setWordWrap(True)
        self._out_of_service.setVisible(False)

        self.pickup_button = TileButton("pickup_button", role="tile_primary", min_height=TILE_PX)
        self.pickup_button.clicked.connect(lambda: self._send(Intent.START_PICKUP))
        self.return_button = TileButton("return_button", role="tile_secondary", min_height=TILE_PX)
        self.return_button.clicked.connect(lambda: self._send(Intent.START_RETURN))
        for tile in (self.pickup_button, self.return_button):
            tile.setMaximumHeight(TILE_MAX_PX)
        tiles = self.flip_box(portrait_stretch=(1, 1))
        tiles.addWidget(self.pickup_button, 1)
        tiles.addWidget(self.return_button, 1)

        intro = QVBoxLayout()
        intro.setSpacing(12)
        intro.addWidget(self._title)
        intro.addWidget(self._subtitle)
        intro.addWidget(self._notice)
        intro.addWidget(self._out_of_service)

        self.outer.addLayout(brand_row)
        self.outer.addStretch(1)
        self.outer.addLayout(intro)
        self.outer.addLayout(tiles, 4)
        self.outer.addStretch(1)

        self.language_button = touch_button("language_button", role="quiet", min_height=MIN_TOUCH_PX + 8)
        self.language_button.setMinimumWidth(220)
        self.language_button.clicked.connect(self.language_requested)
        self.accessibility_button = touch_button(
            "accessibility_button", role="quiet", min_height=MIN_TOUCH_PX + 8
        )
        self.accessibility_button.setCheckable(True)
        self.accessibility_button.toggled.connect(self._accessibility_toggled)
        for button in (self.language_button, self.accessibility_button):
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.footer.addWidget(self.language_button)
        self.footer.addStretch(1)
        self.footer.addWidget(self.accessibility_button)
        self.finish_layout()

    def set_other_language(self, name: str) -> None:
        """The language the language button switches to, named in that language ("Deutsch")."""
        self._other_language_name = name
        self.render_view()

    def set_location(self, text: str) -> None:
        self._location = text
        self.render_view()

    def set_accessibility(self, on: bool) -> None:
        """Reflect the mode without announcing a toggle (used when the window resets it)."""
        self.accessibility_button.blockSignals(True)
        self.accessibility_button.setChecked(on)
        self.accessibility_button.blockSignals(False)
        self.render_view()

    def _accessibility_toggled(self, on: bool) -> None:
        self.render_view()
        self.accessibility_toggled.emit(on)

    def render_view(self) -> None:
        set_label_text(self._brand, self.tr("Parcel locker"))
        set_label_text(self._title, self.tr("Welcome"))
        set_label_text(self._subtitle, self.tr("What would you like to do?"))
        self.pickup_button.set_texts(
            self.tr("Pick up a parcel"),
            self.tr("with your pickup code or its QR code") if self._view.can_scan
            else self.tr("with your pickup code"),
        )
        self.return_button.set_texts(self.tr("Send or return"), self.tr("with your return code"))
        self.logo.setAccessibleName(self.tr("Parcel locker logo"))
        set_button_text(self.courier_button, self.tr("Courier"), self.tr("Courier login"))
        language = self._other_language_name
        self.language_button.setVisible(bool(language))
        set_button_text(self.language_button, language, fill(self.tr("Change language to %1"), language))
        button_text = (self.tr("♿ Accessibility: on") if self.accessibility_button.isChecked()
                       else self.tr("♿ Accessibility"))
        set_button_text(self.accessibility_button, button_text,
                        self.tr("High contrast and large text"))
        set_label_text(self._location_label, self._location)
        link = self.view.platform
        self._platform_label.setProperty("link", link.value)
        if link is PlatformConnection.ONLINE:
            set_label_text(self._platform_label, self.tr("● Online"))
        elif link is PlatformConnection.OFFLINE:
            set_label_text(self._platform_label, self.tr("○ Offline: pickup with your code still works"))
        elif link is PlatformConnection.CONNECTING:
            set_label_text(self._platform_label, self.tr("○ Connecting…"))
        self._platform_label.setVisible(link is not PlatformConnection.STANDALONE)
        notice = self.view.notice
        if notice is HomeNotice.FOREIGN_CODE:
            set_label_text(self._notice, self.tr("This code is not for this locker."))
        self._notice.setVisible(notice is not None)
        out_of_service = self.view.out_of_service
        set_label_text(
            self._out_of_service,
            self.tr("This locker is out of service for the moment. Your parcels are safe inside; "
                    "please come back a little later."),
        )
        self._out_of_service.setVisible(out_of_service)
        # Nothing can be opened: better said here than after the code is typed.
        self.pickup_button.setEnabled(not out_of_service)
