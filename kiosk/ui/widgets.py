"""Small building blocks shared by the screens: touch-sized buttons, styled labels, text helpers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.core.flows.views import Intent

MIN_TOUCH_PX = 64  # smallest button height a finger hits reliably
ACTION_BUTTON_PX = 88  # the main buttons of a screen
KEY_PX = 96  # keypad keys


class IntentSink(Protocol):
    """Where a screen sends what the user asked for (CoreBridge.send)."""

    def __call__(self, intent: Intent, /, **arguments: object) -> None: ...


def touch_button(
    object_name: str, *, role: str = "secondary", min_height: int = ACTION_BUTTON_PX
) -> QPushButton:
    """A button sized for a finger; `role` selects its look in the QSS themes."""
    button = QPushButton()
    button.setObjectName(object_name)
    button.setProperty("role", role)
    # Touch screens have no focus ring to follow, and focused buttons would steal keypad keys.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setMinimumHeight(max(MIN_TOUCH_PX, min_height))
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return button


def set_button_text(button: QPushButton, text: str, accessible_name: str | None = None) -> None:
    button.setText(text)
    button.setAccessibleName(accessible_name or " ".join(text.split()))


def text_label(object_name: str, role: str, *, centered: bool = False) -> QLabel:
    """A word-wrapping label whose `role` (title, subtitle, body, ...) selects its QSS style."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setProperty("role", role)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    alignment = Qt.AlignmentFlag.AlignHCenter if centered else Qt.AlignmentFlag.AlignLeft
    label.setAlignment(alignment | Qt.AlignmentFlag.AlignVCenter)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


def set_label_text(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setAccessibleName(" ".join(text.split()))
    label.setVisible(bool(text))


def restyle(widget: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property used by a QSS selector changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


_PLACEHOLDER = re.compile(r"%([1-9])")


def fill(template: str, *values: str) -> str:
    """Qt's QString::arg for %1..%9, in one pass so a value containing '%2' is never re-expanded."""

    def substitute(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return values[index] if index < len(values) else match.group(0)

    return _PLACEHOLDER.sub(substitute, template)


def join_doors(compartment_ids: Sequence[str]) -> str:
    """'A07', 'A07 and B02', 'A07, B02 and C03' in the current language."""
    if not compartment_ids:
        return ""
    text = compartment_ids[0]
    for middle in compartment_ids[1:-1]:
        text = fill(QCoreApplication.translate("DoorList", "%1, %2"), text, middle)
    if len(compartment_ids) > 1:
        text = fill(QCoreApplication.translate("DoorList", "%1 and %2"), text, compartment_ids[-1])
    return text


def minutes_seconds(seconds: int) -> str:
    seconds = max(0, seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class TileButton(QPushButton):
    """A large button with a title and a smaller caption under it (QPushButton draws one font only)."""

    def __init__(self, object_name: str, *, role: str, min_height: int) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setProperty("role", role)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumHeight(max(MIN_TOUCH_PX, min_height))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._title = text_label(f"{object_name}_title", "tile_title", centered=True)
        self._caption = text_label(f"{object_name}_caption", "tile_caption", centered=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.setSpacing(8)
        layout.addStretch(1)
        for label in (self._title, self._caption):
            # The button, not its labels, must receive the touch.
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(label)
        layout.addStretch(1)

    def set_texts(self, title: str, caption: str) -> None:
        set_label_text(self._title, title)
        set_label_text(self._caption, caption)
        self.setAccessibleName(title)
        self.setAccessibleDescription(caption)
