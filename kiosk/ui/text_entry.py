"""Letters, digits and a dash on the touch screen: entry fields and the compact keyboard that types into them.

The keyboard is alphabetical, not QWERTY: a courier id or a return code is read off a card or a sheet letter
by letter, and an A-to-Z grid is found at a glance by anyone, whatever keyboard they grew up with. A physical
keyboard types into the field that has the focus as well.
"""

from __future__ import annotations

import string

from PySide6.QtCore import QEvent, QRegularExpression, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QMouseEvent, QRegularExpressionValidator
from PySide6.QtWidgets import QGridLayout, QLineEdit, QPushButton, QSizePolicy, QWidget

from kiosk.ui.widgets import KEY_PX, restyle, set_button_text, touch_button

LETTERS = string.ascii_uppercase
DIGITS = string.digits
DASH = "-"
LETTER_ROWS = ("ABCDEFG", "HIJKLMN", "OPQRSTU", "VWXYZ")
DIGIT_ROWS = ("1234567", "890")
COLUMNS = 7
ROWS = len(LETTER_ROWS) + len(DIGIT_ROWS)
KEY_SPACING_PX = 8
LARGEST_KEY_PX = 132
FIELD_PX = 76


def keyboard_width(key_px: int) -> int:
    return COLUMNS * key_px + (COLUMNS - 1) * KEY_SPACING_PX


def keyboard_height(key_px: int) -> int:
    return ROWS * key_px + (ROWS - 1) * KEY_SPACING_PX


def key_name(char: str) -> str:
    """The objectName of the key that types `char` (key_A, key_7, key_dash)."""
    return "key_dash" if char == DASH else f"key_{char}"


class EntryField(QLineEdit):
    """One line of a code: only `allowed` characters (letters upper-cased, as on the keys), at most
    `max_length` of them. Tapping it makes it the field the keyboard types into (`activated`)."""

    activated = Signal()
    submitted = Signal()  # Enter on a physical keyboard

    def __init__(self, object_name: str, allowed: str, max_length: int, *, masked: bool = False) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setProperty("role", "entry")
        self.setProperty("active", False)
        self._allowed = frozenset(allowed)
        self.setMaxLength(max_length)
        # Whatever reaches the text by another road (a drop, an input method) obeys the same rule.
        pattern = "[" + QRegularExpression.escape("".join(sorted(self._allowed))) + "]*"
        self.setValidator(QRegularExpressionValidator(QRegularExpression(pattern), self))
        if masked:
            self.setEchoMode(QLineEdit.EchoMode.Password)
        # A kiosk has no clipboard to offer and no desktop keyboard to pop up.
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.setAcceptDrops(False)
        self.setMinimumHeight(FIELD_PX)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def accepts(self, char: str) -> bool:
        return len(char) == 1 and char.upper() in self._allowed

    def has_room(self) -> bool:
        return len(self.text()) < self.maxLength()

    def type_text(self, text: str) -> None:
        """Insert what may be typed here at the cursor; anything else is left out."""
        if self.isReadOnly():
            return
        for char in text:
            if self.accepts(char) and self.has_room():
                self.insert(char.upper())

    def set_active(self, active: bool) -> None:
        """Marked as the field the keyboard types into (the theme frames it)."""
        if self.property("active") != active:
            self.setProperty("active", active)
            restyle(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.submitted.emit()
            return
        text = event.text()
        control = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        if text and text.isprintable() and not control:
            self.type_text(text)
            event.accept()
            return
        if control and key in (Qt.Key.Key_V, Qt.Key.Key_Insert):
            event.accept()  # no pasting
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.activated.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        self.activated.emit()


class TextKeypad(QWidget):
    """A-Z in rows of seven, a dash and delete, the digits, and a wide OK key (`submitted`).

    It types into its target field; keys the target cannot take (letters in a PIN) are disabled.
    """

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("text_keypad")
        self._target: EntryField | None = None
        self._keys_enabled = True
        self._ok_enabled = False
        self._char_keys: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(KEY_SPACING_PX)
        for row, chars in enumerate(LETTER_ROWS + DIGIT_ROWS):
            for column, char in enumerate(chars):
                grid.addWidget(self._char_key(char), row, column)
        last_letter_row = len(LETTER_ROWS) - 1
        grid.addWidget(self._char_key(DASH), last_letter_row, len(LETTER_ROWS[-1]))
        self._back_key = self._key("key_back", "key_clear")
        self._back_key.clicked.connect(self.delete_last)
        grid.addWidget(self._back_key, last_letter_row, COLUMNS - 1)
        self._ok_key = self._key("key_ok", "secondary")
        self._ok_key.clicked.connect(self.submit)
        grid.addWidget(self._ok_key, ROWS - 1, len(DIGIT_ROWS[-1]), 1, COLUMNS - len(DIGIT_ROWS[-1]))
        self.set_key_size(KEY_PX)
        self.retranslate()
        self.refresh()

    def _char_key(self, char: str) -> QPushButton:
        key = self._key(key_name(char), "key")
        key.setText(char)
        key.clicked.connect(lambda _checked=False, c=char: self.press(c))
        self._char_keys[char] = key
        return key

    @staticmethod
    def _key(object_name: str, role: str) -> QPushButton:
        key = touch_button(object_name, role=role, min_height=KEY_PX)
        key.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        return key

    def key_buttons(self) -> list[QPushButton]:
        return [*self._char_keys.values(), self._back_key, self._ok_key]

    def set_key_size(self, pixels: int) -> None:
        """Every key `pixels` square (never below KEY_PX); the OK key spans the rest of its row."""
        pixels = max(KEY_PX, pixels)
        for key in (*self._char_keys.values(), self._back_key):
            key.setFixedSize(pixels, pixels)
        ok_columns = COLUMNS - len(DIGIT_ROWS[-1])
        self._ok_key.setFixedSize(ok_columns * pixels + (ok_columns - 1) * KEY_SPACING_PX, pixels)
        self.setFixedSize(keyboard_width(pixels), keyboard_height(pixels))

    def target(self) -> EntryField | None:
        return self._target

    def set_target(self, field: EntryField | None) -> None:
        if self._target is not None:
            self._target.textChanged.disconnect(self.refresh)
        self._target = field
        if field is not None:
            field.textChanged.connect(self.refresh)
        self.refresh()

    def set_keys_enabled(self, enabled: bool) -> None:
        """All keys off while a code is being checked or login is locked."""
        self._keys_enabled = enabled
        self.refresh()

    def set_ok_enabled(self, enabled: bool) -> None:
        self._ok_enabled = enabled
        self.refresh()

    def set_ok_text(self, text: str, accessible_name: str) -> None:
        set_button_text(self._ok_key, text, accessible_name)

    def press(self, char: str) -> None:
        if self._target is not None and self._keys_enabled:
            self._target.type_text(char)

    def delete_last(self) -> None:
        if self._target is not None and self._keys_enabled and not self._target.isReadOnly():
            self._target.backspace()

    def submit(self) -> None:
        if self._keys_enabled and self._ok_enabled:
            self.submitted.emit()

    def refresh(self) -> None:
        target = self._target
        live = self._keys_enabled and target is not None and not target.isReadOnly()
        room = target is not None and target.has_room()
        for char, key in self._char_keys.items():
            key.setEnabled(live and room and target is not None and target.accepts(char))
        self._back_key.setEnabled(live and target is not None and bool(target.text()))
        self._ok_key.setEnabled(self._keys_enabled and self._ok_enabled)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        set_button_text(self._char_keys[DASH], DASH, self.tr("Dash"))
        set_button_text(self._back_key, "⌫", self.tr("Delete the last character"))
        if not self._ok_key.text():
            self.set_ok_text(self.tr("OK"), self.tr("OK"))
        for char, key in self._char_keys.items():
            if char != DASH:
                key.setAccessibleName(char)
