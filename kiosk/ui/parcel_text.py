"""Parcels in words: size names, and ids short enough for a line of text on any screen."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from kiosk.core.model import Size

LONGEST_ID_SHOWN = 24
ID_HEAD = 8
ID_TAIL = 12


def size_name(size: Size) -> str:
    """'Small', 'Medium', ... in the current language."""
    names = {
        Size.S: QCoreApplication.translate("ParcelText", "Small"),
        Size.M: QCoreApplication.translate("ParcelText", "Medium"),
        Size.L: QCoreApplication.translate("ParcelText", "Large"),
        Size.XL: QCoreApplication.translate("ParcelText", "Extra large"),
    }
    return names[size]


def short_id(text: str) -> str:
    """A parcel id or label as it fits a line: whole up to 24 characters, else its head, '…' and its tail.

    A word-wrapping label cannot break inside one long token, so a 40-character label would widen the whole
    screen; couriers compare a tracking number by its last digits, which stay.
    """
    text = " ".join(text.split())
    if len(text) <= LONGEST_ID_SHOWN:
        return text
    return f"{text[:ID_HEAD]}…{text[-ID_TAIL:]}"
