"""Receipt: the return is in; its receipt code, large and spaced for copying, and the door it went in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.core.flows.views import Intent, ReceiptView, ScreenId
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, text_label, touch_button

GROUP = 4
SEPARATORS = " -"


def spaced_code(code: str) -> str:
    """'K7Q2M9XD' as 'K7Q2 M9XD': groups of four are copied without losing one's place. A code that brings
    its own separators keeps them."""
    code = code.strip()
    if any(separator in code for separator in SEPARATORS) or len(code) <= GROUP + 1:
        return code
    return " ".join(code[start:start + GROUP] for start in range(0, len(code), GROUP))


class ReceiptScreen(MessageScreen[ReceiptView]):
    screen_id = ScreenId.RECEIPT
    view_type = ReceiptView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        initial = ReceiptView(receipt_code="", compartment_id="", parcel_id="")
        super().__init__(send, initial, Symbol.CHECK, parent)
        self.receipt_code_label = text_label("receipt_code_label", "receipt_code", centered=True)
        # As wide as the code, not the screen: a framed code reads as one thing to copy.
        self.receipt_code_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Minimum)
        self.action_column.addWidget(self.receipt_code_label, 0, Qt.AlignmentFlag.AlignHCenter)
        self._door = text_label("door_label", "subtitle", centered=True)
        self.action_column.addWidget(self._door)
        self.done_button = touch_button("done_button", role="primary")
        self.done_button.clicked.connect(lambda: self._send(Intent.DONE))
        self.footer.addStretch(1)
        self.footer.addWidget(self.done_button, 2)
        self.footer.addStretch(1)
        self.finish_layout()

    def render_view(self) -> None:
        view = self._view
        set_label_text(self.title_label, self.tr("Thank you"))
        set_label_text(self.message_label, self.tr("Your receipt code:"))
        set_label_text(self.next_step_label, "")
        code = view.receipt_code
        self.receipt_code_label.setText(spaced_code(code))
        # Read out character by character, as it is to be written down.
        self.receipt_code_label.setAccessibleName(fill(self.tr("Receipt code: %1"), " ".join(code)))
        self.receipt_code_label.setVisible(bool(code))
        set_label_text(self._door, fill(self.tr("Your return is in door %1. Keep this code: it shows that "
                                                "you handed it in."), view.compartment_id))
        set_button_text(self.done_button, self.tr("Done"))
