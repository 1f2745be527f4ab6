"""A touch keypad for codes: large keys, a display of the digits typed, physical keyboard accepted."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.widgets import KEY_PX, fill, set_button_text, touch_button

MAX_DIGITS = 8
SLOTS_SHOWN = 6  # the shortest code: empty slots hint how many digits to type
EMPTY_SLOT = "–"
# A thin space keeps digits apart for reading while eight of them still fit the keypad's width.
DIGIT_SEPARATOR = "\u2009"
LARGEST_KEY_PX = 150
KEY_SPACING_PX = 12


class CodeDisplay(QLabel):
    """Always as wide as the longest code, so the keypad never changes size while someone types."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("code_display")
        self.setProperty("role", "code_display")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setMinimumHeight(KEY_PX)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._longest_width: int | None = None

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self._longest_code_width()), hint.height())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._longest_code_width()), hint.height())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._longest_width = None
            self.updateGeometry()
        super().changeEvent(event)

    def _longest_code_width(self) -> int:
        # Measured once per font: re-measuring around each new text would wobble by a pixel.
        if self._longest_width is None:
            metrics = self.fontMetrics()

            def text_width(text: str) -> int:  # measured as QLabel measures its own text
                return metrics.boundingRect(0, 0, 4000, 400, int(self.alignment().value), text).width()

            # Padding and border come from the theme; what the current text gets, the longest gets.
            chrome = super().sizeHint().width() - text_width(self.text())
            self._longest_width = text_width(DIGIT_SEPARATOR.join("8" * MAX_DIGITS)) + chrome
        return self._longest_width


class Keypad(QWidget):
    """Digits 0-9, a key that removes the last digit (`key_clear`) and `key_ok`, which emits `submitted`.

    A pickup code is no password, so the display shows the digits themselves, spaced for reading.
    """

    submitted = Signal(str)
    digits_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keypad")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._digits = ""

        self._display = CodeDisplay()

        self._digit_keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(KEY_SPACING_PX)
        positions = {str(d): divmod(d - 1, 3) for d in range(1, 10)}
        positions["0"] = (3, 1)
        for digit, (row, column) in positions.items():
            key = self._key(f"key_{digit}", "key")
            key.setText(digit)
            key.clicked.connect(lambda _checked=False, d=digit: self.press_digit(d))
            self._digit_keys[digit] = key
            grid.addWidget(key, row, column)
        self._clear_key = self._key("key_clear", "key_clear")
        self._clear_key.clicked.connect(self.delete_last)
        self._ok_key = self._key("key_ok", "key_ok")
        self._ok_key.clicked.connect(self.submit)
        grid.addWidget(self._clear_key, 3, 0)
        grid.addWidget(self._ok_key, 3, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        layout.addWidget(self._display)
        layout.addLayout(grid)
        self.setMaximumWidth(3 * LARGEST_KEY_PX + 2 * KEY_SPACING_PX)
        self.retranslate()
        self._show_digits()

    @staticmethod
    def _key(object_name: str, role: str) -> QPushButton:
        key = touch_button(object_name, role=role, min_height=KEY_PX)
        key.setMinimumWidth(KEY_PX)
        key.setMaximumHeight(LARGEST_KEY_PX)
        key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        return key

    def set_key_size(self, pixels: int) -> None:
        """The smallest side of every key; never below KEY_PX."""
        pixels = max(KEY_PX, pixels)
        for key in (*self._digit_keys.values(), self._clear_key, self._ok_key):
            key.setMinimumSize(pixels, pixels)
            key.setMaximumHeight(max(pixels, LARGEST_KEY_PX))
        self._display.setMinimumHeight(pixels)
        self.setMaximumWidth(3 * max(pixels, LARGEST_KEY_PX) + 2 * KEY_SPACING_PX)

    def digits(self) -> str:
        return self._digits

    def press_digit(self, digit: str) -> None:
        if len(digit) == 1 and digit.isdigit() and digit.isascii() and len(self._digits) < MAX_DIGITS:
            self._digits += digit
            self._show_digits()

    def delete_last(self) -> None:
        if self._digits:
            self._digits = self._digits[:-1]
            self._show_digits()

    def clear(self) -> None:
        if self._digits:
            self._digits = ""
            self._show_digits()

    def submit(self) -> None:
        """Hand the digits on and start afresh; an empty display submits nothing."""
        if not self._digits:
            return
        code = self._digits
        self.clear()
        self.submitted.emit(code)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.delete_last()
        elif key == Qt.Key.Key_Escape:
            self.clear()
        elif event.text() and event.text().isdigit():
            self.press_digit(event.text())
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            self._show_digits()
        super().changeEvent(event)

    def retranslate(self) -> None:
        set_button_text(self._clear_key, "⌫", self.tr("Delete the last digit"))
        set_button_text(self._ok_key, self.tr("OK"), self.tr("OK, check my code"))
        for digit, key in self._digit_keys.items():
            key.setAccessibleName(digit)

    def _show_digits(self) -> None:
        slots = list(self._digits) + [EMPTY_SLOT] * max(0, SLOTS_SHOWN - len(self._digits))
        self._display.setText(DIGIT_SEPARATOR.join(slots))
        if self._digits:
            self._display.setAccessibleName(fill(self.tr("Code typed: %1"), " ".join(self._digits)))
        else:
            self._display.setAccessibleName(self.tr("No digits typed yet"))
        self._ok_key.setEnabled(bool(self._digits))
        self._clear_key.setEnabled(bool(self._digits))
        self.digits_changed.emit(self._digits)
