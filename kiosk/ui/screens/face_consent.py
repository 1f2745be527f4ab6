"""Face consent: before anything is captured, plain words on what is stored, for how long and how to take it
back; then yes or no, neither of them the easy default."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QLabel, QVBoxLayout, QWidget

from kiosk.core.flows.views import FaceConsentView, Intent, ScreenId
from kiosk.ui.screens.base import SPACING_PX, ScreenWidget
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, text_label, touch_button


class FaceConsentScreen(ScreenWidget[FaceConsentView]):
    screen_id = ScreenId.FACE_CONSENT
    view_type = FaceConsentView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, FaceConsentView(forget_after_days=180), parent)
        self._title = text_label("title_label", "title")
        self.outer.addWidget(self._title)
        # One short heading and one or two sentences per question a careful person asks before saying yes.
        self._sections: list[tuple[QLabel, QLabel]] = []
        self._cells: list[QVBoxLayout] = []
        for name in ("stored", "how_long", "withdraw", "codes_stay"):
            heading = text_label(f"{name}_heading", "card_title")
            text = text_label(f"{name}_label", "body")
            cell = QVBoxLayout()
            cell.setSpacing(8)
            cell.addWidget(heading)
            cell.addWidget(text)
            cell.addStretch(1)  # side by side, both sections of a row start at the same height
            self._sections.append((heading, text))
            self._cells.append(cell)
        # Landscape has the width for two columns and too little height for four sections stacked.
        self._grid = QGridLayout()
        self._grid.setHorizontalSpacing(SPACING_PX * 2)
        self._grid.setVerticalSpacing(SPACING_PX)
        self.outer.addLayout(self._grid)
        self.outer.addStretch(1)
        self._arrange(landscape=True)

        # Same look, same size: saying no must be as easy as saying yes.
        self.decline_button = touch_button("decline_button", role="secondary")
        self.decline_button.clicked.connect(lambda: self._send(Intent.DECLINE_FACE))
        self.consent_button = touch_button("consent_button", role="secondary")
        self.consent_button.clicked.connect(lambda: self._send(Intent.CONSENT_FACE))
        self.footer.addWidget(self.decline_button, 1)
        self.footer.addWidget(self.consent_button, 1)
        self.finish_layout()

    def _arrange(self, landscape: bool) -> None:
        for cell in self._cells:
            self._grid.removeItem(cell)
        columns = 2 if landscape else 1
        for index, cell in enumerate(self._cells):
            self._grid.addLayout(cell, index // columns, index % columns)
        for column in range(2):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)

    def orientation_changed(self, landscape: bool) -> None:
        self._arrange(landscape)
        # A narrow portrait display has no room for both answers side by side: one above the other, each as
        # wide as the screen, so neither gets the bigger button.
        self.footer.setDirection(QBoxLayout.Direction.LeftToRight if landscape
                                 else QBoxLayout.Direction.TopToBottom)

    def render_view(self) -> None:
        days = max(self._view.forget_after_days, 1)
        # The button's own words, so the two can never drift apart in any language.
        forget_button = QCoreApplication.translate("ThankYouScreen", "Forget my face")
        texts = (
            (self.tr("What is kept"),
             self.tr("Numbers computed from your face, not a photo. They are encrypted and kept only in "
                     "this locker.")),
            (self.tr("For how long"),
             self.tr("Until you ask us to forget them, and deleted after %n days without use.", "", days)),
            (self.tr("Changing your mind"),
             fill(self.tr("Tap “%1” after any pickup, or ask the operator."), forget_button)),
            (self.tr("Your code still works"),
             self.tr("Your pickup code and QR code always keep working.")),
        )
        set_label_text(self._title, self.tr("Pick up with your face next time?"))
        for (heading, text), (heading_text, body_text) in zip(self._sections, texts, strict=True):
            set_label_text(heading, heading_text)
            set_label_text(text, body_text)
        set_button_text(self.decline_button, self.tr("No, thanks"))
        set_button_text(self.consent_button, self.tr("Yes, use my face"))
