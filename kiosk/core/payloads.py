"""What a scanned code may say: the versioned payload format of pickup, return and courier-badge codes.

Version 1, ASCII only, fields separated by ":" (every character is in the QR code's alphanumeric set, so the
code stays small and easy for a camera to read):

    LK1:P:<LOCKER>:<CODE>        pickup at one locker; CODE is the recipient's 6-8 digit pickup code
    LK1:R:<RETURN-CODE>          a return authorisation, valid at any locker of the network
    LK1:C:<COURIER-ID>:<SECRET>  a courier's badge

LOCKER is the locker's id (`[locker] id` in kiosk.toml, compared without regard to case), 1-40 letters,
digits or dashes; RETURN-CODE 8-16 letters or digits; COURIER-ID 1-32 letters, digits or dashes; SECRET
16-64 letters or digits. Letters are upper case in the code; lower case is accepted.

Anything else (another format, another version, another locker, a binary or oversized payload) is refused
with a reason; nothing here ever raises on what a scanner hands in. Length is checked before anything else,
so a 5 MB payload costs no more than a short one.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

FORMAT_VERSION = "LK1"
MAX_PAYLOAD_CHARS = 128  # the longest valid payload is a badge: 4 + 2 + 32 + 1 + 64 = 103 characters

LOCKER_ID_PATTERN = re.compile(r"[A-Za-z0-9-]{1,40}")
_PICKUP = re.compile(r"LK1:P:([A-Z0-9-]{1,40}):([0-9]{6,8})")
_RETURN = re.compile(r"LK1:R:([A-Z0-9]{8,16})")
_BADGE = re.compile(r"LK1:C:([A-Z0-9-]{1,32}):([A-Z0-9]{16,64})")
_VERSIONED = re.compile(r"LK([0-9]+):")
_KIND = re.compile(r"LK1:([A-Z]):")
_KINDS = {"P", "R", "C"}


class ScanTarget(enum.Enum):
    """What the screen shown now wants read from cameras and scanners."""

    NONE = "none"  # nothing: a door is open, or a message is being read
    PERSON_CODES = "person_codes"  # QR codes people show: pickup, return, courier badge
    PARCEL_LABELS = "parcel_labels"  # the barcodes on parcel labels (courier drop-off)


class Refusal(enum.Enum):
    """Why a scanned payload is not a code for this locker (a reason code; the UI puts it in words)."""

    TOO_LONG = "too_long"
    NOT_TEXT = "not_text"  # binary, or characters outside printable ASCII
    NOT_OURS = "not_ours"  # some other QR code or barcode: a web address, a ticket, a product
    NEWER_VERSION = "newer_version"  # our format, but a version this kiosk does not read
    MALFORMED = "malformed"  # our format and version, but a field is wrong
    OTHER_LOCKER = "other_locker"  # a pickup code for another locker


@dataclass(frozen=True)
class PickupPayload:
    locker_id: str
    code: str


@dataclass(frozen=True)
class ReturnPayload:
    code: str


@dataclass(frozen=True)
class CourierBadgePayload:
    courier_id: str
    secret: str

    def __repr__(self) -> str:  # a badge secret must not end up in a log line
        return f"CourierBadgePayload(courier_id={self.courier_id!r}, secret=<hidden>)"


@dataclass(frozen=True)
class Refused:
    reason: Refusal


ScanPayload = PickupPayload | ReturnPayload | CourierBadgePayload


def parse_scan(raw: bytes | str, locker_id: str) -> ScanPayload | Refused:
    """What a scanned payload means at the locker `locker_id`."""
    if len(raw) > MAX_PAYLOAD_CHARS * 4:  # cheap first: no decoding or copying of a huge payload
        return Refused(Refusal.TOO_LONG)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return Refused(Refusal.NOT_TEXT)
    else:
        text = raw
    text = text.strip()  # scanners end a scan with CR, LF or both
    if len(text) > MAX_PAYLOAD_CHARS:
        return Refused(Refusal.TOO_LONG)
    if not text.isascii() or not text.isprintable():
        return Refused(Refusal.NOT_TEXT)
    text = text.upper()
    version = _VERSIONED.match(text)
    if version is None:
        return Refused(Refusal.NOT_OURS)
    if version.group(0) != f"{FORMAT_VERSION}:":
        return Refused(Refusal.NEWER_VERSION if int(version.group(1)) > 1 else Refusal.NOT_OURS)
    kind = _KIND.match(text)
    if kind is None or kind.group(1) not in _KINDS:
        return Refused(Refusal.MALFORMED)
    if (pickup := _PICKUP.fullmatch(text)) is not None:
        if pickup.group(1) != locker_id.upper():
            return Refused(Refusal.OTHER_LOCKER)
        return PickupPayload(locker_id, pickup.group(2))
    if (returned := _RETURN.fullmatch(text)) is not None:
        return ReturnPayload(returned.group(1))
    if (badge := _BADGE.fullmatch(text)) is not None:
        return CourierBadgePayload(badge.group(1), badge.group(2))
    return Refused(Refusal.MALFORMED)


def pickup_payload(locker_id: str, code: str) -> str:
    """The payload of a pickup QR code, as the platform (or the standalone kiosk) puts it in a message."""
    payload = f"{FORMAT_VERSION}:P:{locker_id.upper()}:{code}"
    if not isinstance(parse_scan(payload, locker_id), PickupPayload):
        raise ValueError(f"cannot make a pickup code for locker {locker_id!r} and code {code!r}")
    return payload


def return_payload(code: str) -> str:
    payload = f"{FORMAT_VERSION}:R:{code.upper()}"
    if not isinstance(parse_scan(payload, ""), ReturnPayload):
        raise ValueError(f"not a return code: {code!r}")
    return payload


def courier_badge_payload(courier_id: str, secret: str) -> str:
    payload = f"{FORMAT_VERSION}:C:{courier_id.upper()}:{secret.upper()}"
    if not isinstance(parse_scan(payload, ""), CourierBadgePayload):
        raise ValueError(f"not a courier badge: id {courier_id!r}")
    return payload
