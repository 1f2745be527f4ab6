"""The scanned-code payload format: strict parsing, every refusal reason, and cheap rejection of junk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.payloads import (
    MAX_PAYLOAD_CHARS,
    CourierBadgePayload,
    PickupPayload,
    Refusal,
    Refused,
    ReturnPayload,
    courier_badge_payload,
    parse_scan,
    pickup_payload,
    return_payload,
)

LOCKER = "mall-north-01"


def test_pickup_code_for_this_locker() -> None:
    assert parse_scan("LK1:P:MALL-NORTH-01:12345678", LOCKER) == PickupPayload(LOCKER, "12345678")
    assert parse_scan(b"LK1:P:MALL-NORTH-01:123456\r\n", LOCKER) == PickupPayload(LOCKER, "123456")
    assert parse_scan("lk1:p:mall-north-01:123456", LOCKER) == PickupPayload(LOCKER, "123456")


def test_return_and_badge_are_valid_at_any_locker() -> None:
    assert parse_scan("LK1:R:RT7Q2M9X", LOCKER) == ReturnPayload("RT7Q2M9X")
    badge = parse_scan("LK1:C:COURIER-17:ABCDEFGH12345678", LOCKER)
    assert badge == CourierBadgePayload("COURIER-17", "ABCDEFGH12345678")
    assert "ABCDEFGH" not in repr(badge)  # a badge secret never reaches a log line


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("LK1:P:OTHER-LOCKER:123456", Refusal.OTHER_LOCKER),
        ("https://example.com/track/123", Refusal.NOT_OURS),
        ("4006381333931", Refusal.NOT_OURS),
        ("LK2:P:MALL-NORTH-01:123456", Refusal.NEWER_VERSION),
        ("LK0:P:MALL-NORTH-01:123456", Refusal.NOT_OURS),
        ("LK1:P:MALL-NORTH-01:12345", Refusal.MALFORMED),  # 5 digits
        ("LK1:P:MALL-NORTH-01:123456789", Refusal.MALFORMED),  # 9 digits
        ("LK1:P:MALL-NORTH-01:12345A", Refusal.MALFORMED),
        ("LK1:X:ANYTHING", Refusal.MALFORMED),
        ("LK1:R:SHORT", Refusal.MALFORMED),
        ("LK1:C:COURIER-17:TOOSHORT", Refusal.MALFORMED),
        ("LK1:P:MALL NORTH:123456", Refusal.MALFORMED),
        ("LK1:P:MALL-NORTH-01:123456\x00", Refusal.NOT_TEXT),
        ("LK1:P:MÄLL:123456", Refusal.NOT_TEXT),
        ("", Refusal.NOT_OURS),
    ],
)
def test_refusals_name_their_reason(payload: str, reason: Refusal) -> None:
    assert parse_scan(payload, LOCKER) == Refused(reason)


def test_binary_payload_is_not_text() -> None:
    assert parse_scan(bytes(range(256)), LOCKER) == Refused(Refusal.NOT_TEXT)
    assert parse_scan(b"\xff\xfeLK1:P:MALL-NORTH-01:123456", LOCKER) == Refused(Refusal.NOT_TEXT)


class UntouchableBytes(bytes):
    """A payload that fails the test if anything decodes, strips or searches it."""

    def decode(self, *args: object, **kwargs: object) -> str:  # type: ignore[override]
        raise AssertionError("a huge payload was decoded")

    def strip(self, *args: object) -> bytes:  # type: ignore[override]
        raise AssertionError("a huge payload was copied")


def test_a_five_megabyte_payload_is_refused_without_being_read() -> None:
    huge = UntouchableBytes(b"LK1:P:" + b"9" * (5 * 1024 * 1024))
    assert parse_scan(huge, LOCKER) == Refused(Refusal.TOO_LONG)
    assert parse_scan("A" * (MAX_PAYLOAD_CHARS + 1), LOCKER) == Refused(Refusal.TOO_LONG)


def test_makers_round_trip() -> None:
    assert parse_scan(pickup_payload(LOCKER, "00123456"), LOCKER) == PickupPayload(LOCKER, "00123456")
    assert parse_scan(return_payload("rt7q2m9x"), LOCKER) == ReturnPayload("RT7Q2M9X")
    assert parse_scan(courier_badge_payload("c-1", "a" * 16), LOCKER) == CourierBadgePayload("C-1", "A" * 16)
    with pytest.raises(ValueError, match="pickup code"):
        pickup_payload(LOCKER, "12")


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_anything_at_all_parses_or_is_refused_without_raising(payload: bytes | str) -> None:
    result = parse_scan(payload, LOCKER)
    assert isinstance(result, PickupPayload | ReturnPayload | CourierBadgePayload | Refused)


@given(st.from_regex(r"[0-9]{6,8}", fullmatch=True))
def test_every_valid_code_round_trips(code: str) -> None:
    assert parse_scan(pickup_payload(LOCKER, code), LOCKER) == PickupPayload(LOCKER, code)
