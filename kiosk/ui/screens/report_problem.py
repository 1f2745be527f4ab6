"""Report a problem: what went wrong with the parcel or the door."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from kiosk.core.flows.views import Intent, ReportProblemView, ScreenId
from kiosk.core.model import ProblemKind
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    ACTION_BUTTON_PX,
    IntentSink,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)


class ReportProblemScreen(ScreenWidget[ReportProblemView]):
    screen_id = ScreenId.REPORT_PROBLEM
    view_type = ReportProblemView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ReportProblemView(parcel_ids=()), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self.outer.addWidget(self._title)
        self.outer.addWidget(self._hint)
        self.outer.addStretch(1)

        self.problem_buttons: dict[ProblemKind, QPushButton] = {}
        choices = QVBoxLayout()
        choices.setSpacing(20)
        for kind in ProblemKind:
            button = touch_button(f"problem_{kind.value}", role="choice", min_height=ACTION_BUTTON_PX + 16)
            button.clicked.connect(lambda _checked=False, k=kind: self._send(Intent.CHOOSE_PROBLEM, kind=k))
            self.problem_buttons[kind] = button
            choices.addWidget(button)
        self.outer.addLayout(choices)
        self.outer.addStretch(2)

        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def render_view(self) -> None:
        set_label_text(self._title, self.tr("What went wrong?"))
        set_label_text(self._hint, self.tr("Choose one. We pass your report on to the operator."))
        labels = {
            ProblemKind.DAMAGED: self.tr("The parcel is damaged"),
            ProblemKind.NOT_MINE: self.tr("This is not my parcel"),
            ProblemKind.DOOR_DID_NOT_OPEN: self.tr("The door did not open"),
        }
        for kind, button in self.problem_buttons.items():
            set_button_text(button, labels[kind])
            button.setVisible(kind in self._view.choices)
        set_button_text(self.cancel_button, self.tr("Cancel"))
