"""The Kerong KR-CU16 codec: golden frames byte for byte, the incremental decoder, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hal.lockboard.base import BoardStatus, LockStatus
from hal.lockboard.kerong import codec
from hal.lockboard.kerong.codec import Command, Frame, FrameDecoder, FrameError

# Board 1: lock 1 open (its hook bit 0), all others closed; parcels behind locks 1, 3 and 16.
# Sum 02+10+35+FE+FF+05+80+03 = 0x2CC -> CC.
GOLDEN_STATUS_REPLY = bytes.fromhex("02 10 35 FE FF 05 80 03 CC")
ALL_CLOSED_EMPTY_BOARD_0 = bytes.fromhex("02 00 35 FF FF 00 00 03 38")


def frames_only(items: list[Frame | FrameError]) -> list[bytes]:
    return [item.raw for item in items if isinstance(item, Frame)]


def errors_only(items: list[Frame | FrameError]) -> list[FrameError]:
    return [item for item in items if isinstance(item, FrameError)]


# golden requests --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("frame", "golden"),
    [
        (codec.unlock_request(0, 1), "02 00 31 03 36"),
        (codec.unlock_request(1, 3), "02 12 31 03 48"),
        (codec.status_request(0), "02 00 30 03 35"),
        (codec.unlock_request(15, 16), "02 FF 31 03 35"),
        (codec.status_request(2), "02 20 30 03 55"),
        (codec.unlock_all_request(1), "02 10 33 03 48"),
        (codec.status_all_request(), "02 00 32 03 37"),
        (codec.status_all_request(0xFF), "02 FF 32 03 36"),
        (codec.unlock_all_request(15), "02 F0 33 03 28"),
    ],
)
def test_requests_match_the_protocol_table_byte_for_byte(frame: bytes, golden: str) -> None:
    assert frame == bytes.fromhex(golden)


@pytest.mark.parametrize(("board", "lock"), [(-1, 1), (16, 1), (0, 0), (0, 17), (True, 1), (0, 2.0)])
def test_out_of_range_addresses_are_refused(board: int, lock: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        codec.unlock_request(board, lock)


@pytest.mark.parametrize("address_byte", [-1, 256, True, 1.0])
def test_the_query_all_address_must_be_a_byte(address_byte: int) -> None:
    with pytest.raises(ValueError, match="address byte must be 0-255"):
        codec.status_all_request(address_byte)


def test_a_reply_command_cannot_be_sent_as_a_request() -> None:
    with pytest.raises(ValueError, match="not a request"):
        codec.encode_request(Command.STATUS_REPLY, 0)


# golden status replies, both directions -------------------------------------------------------------
def test_decoding_the_golden_status_reply() -> None:
    [frame] = FrameDecoder().feed(GOLDEN_STATUS_REPLY)
    assert isinstance(frame, Frame)
    status = codec.decode_status(frame)
    assert status.board == 1
    assert sorted(status.locks) == list(range(1, 17))
    assert [lock for lock, reading in status.locks.items() if reading.door_open] == [1]
    assert [lock for lock, reading in status.locks.items() if reading.occupied] == [1, 3, 16]


def test_encoding_the_golden_status_reply() -> None:
    locks = {lock: LockStatus(door_open=lock == 1, occupied=lock in (1, 3, 16)) for lock in range(1, 17)}
    assert codec.encode_status(BoardStatus(board=1, locks=locks)) == GOLDEN_STATUS_REPLY
    assert codec.status_reply(1, hooks=0xFFFE, infrared=0x8005) == GOLDEN_STATUS_REPLY


def test_the_hook_polarity_is_configurable() -> None:
    [frame] = FrameDecoder().feed(GOLDEN_STATUS_REPLY)
    assert isinstance(frame, Frame)
    inverted = codec.decode_status(frame, hook_closed_bit=0)
    assert [lock for lock, reading in inverted.locks.items() if not reading.door_open] == [1]
    # an all-closed board under polarity 0 sends zero hook bytes
    closed = BoardStatus(board=0, locks={lock: LockStatus(False, False) for lock in range(1, 17)})
    assert codec.encode_status(closed, hook_closed_bit=0) == bytes.fromhex("02 00 35 00 00 00 00 03 3A")
    assert codec.encode_status(closed) == ALL_CLOSED_EMPTY_BOARD_0


def test_lock_9_is_the_lowest_bit_of_the_second_byte() -> None:
    frame = codec.decode_frames(codec.status_reply(0, hooks=0xFEFF, infrared=0x0100))[0]
    assert isinstance(frame, Frame)
    status = codec.decode_status(frame)
    assert [lock for lock, reading in status.locks.items() if reading.door_open] == [9]
    assert [lock for lock, reading in status.locks.items() if reading.occupied] == [9]


def test_a_request_is_not_a_status_reply() -> None:
    frame = codec.decode_frames(codec.status_request(0))[0]
    assert isinstance(frame, Frame)
    with pytest.raises(ValueError, match="not a status reply"):
        codec.decode_status(frame)


@pytest.mark.parametrize("bad_bit", [2, -1, True])
def test_hook_polarity_must_be_a_bit(bad_bit: int) -> None:
    with pytest.raises(ValueError, match="hook_closed_bit"):
        codec.decode_status(Frame(0, Command.STATUS_REPLY, b"\0\0\0\0", b""), hook_closed_bit=bad_bit)


def test_describe_names_the_frame_as_a_technician_would() -> None:
    [frame] = FrameDecoder().feed(bytes.fromhex("02 12 31 03 48"))
    assert isinstance(frame, Frame)
    assert (frame.board, frame.lock, frame.is_request) == (1, 3, True)
    assert codec.describe(frame) == "unlock board 1 lock 3"


# the incremental decoder --------------------------------------------------------------------------------
def test_a_frame_split_byte_by_byte_is_decoded_once_complete() -> None:
    decoder = FrameDecoder()
    out: list[Frame | FrameError] = []
    for index, byte in enumerate(GOLDEN_STATUS_REPLY):
        got = decoder.feed(bytes([byte]))
        assert got == [] or index == len(GOLDEN_STATUS_REPLY) - 1
        out += got
    assert frames_only(out) == [GOLDEN_STATUS_REPLY]
    assert decoder.pending == b""


def test_noise_before_a_frame_is_reported_and_skipped() -> None:
    out = FrameDecoder().feed(b"\xff\x00\x35" + GOLDEN_STATUS_REPLY)
    assert frames_only(out) == [GOLDEN_STATUS_REPLY]
    [error] = errors_only(out)
    assert error.data == b"\xff\x00\x35"
    assert "noise" in error.reason


def test_a_bad_checksum_is_reported_and_the_next_frame_still_decoded() -> None:
    corrupted = GOLDEN_STATUS_REPLY[:-1] + b"\x00"
    out = FrameDecoder().feed(corrupted + ALL_CLOSED_EMPTY_BOARD_0)
    assert frames_only(out) == [ALL_CLOSED_EMPTY_BOARD_0]
    [error] = errors_only(out)
    assert error.reason.startswith("bad checksum 0x00, expected 0xCC")


def test_an_unknown_command_is_reported() -> None:
    out = FrameDecoder().feed(bytes.fromhex("02 00 99 03 9E") + codec.status_request(1))
    assert frames_only(out) == [codec.status_request(1)]
    [error] = errors_only(out)
    assert error.reason == "unknown command 0x99"


def test_a_frame_of_the_wrong_length_is_reported() -> None:
    # a status reply that lost one data byte: the end byte is not where the command says it must be
    truncated = bytes.fromhex("02 00 35 FF FF 00 03 37")
    out = FrameDecoder().feed(truncated + ALL_CLOSED_EMPTY_BOARD_0)
    assert frames_only(out) == [ALL_CLOSED_EMPTY_BOARD_0]
    assert any("no end byte" in error.reason for error in errors_only(out))


def test_several_frames_in_one_chunk_and_an_echoed_request() -> None:
    stream = codec.status_request(0) + ALL_CLOSED_EMPTY_BOARD_0 + GOLDEN_STATUS_REPLY
    out = FrameDecoder().feed(stream)
    assert frames_only(out) == [codec.status_request(0), ALL_CLOSED_EMPTY_BOARD_0, GOLDEN_STATUS_REPLY]
    assert errors_only(out) == []


def test_bytes_wanted_follows_the_frame_under_way() -> None:
    decoder = FrameDecoder()
    assert decoder.bytes_wanted() == 5
    decoder.feed(GOLDEN_STATUS_REPLY[:4])
    assert decoder.bytes_wanted() == 5
    decoder.feed(GOLDEN_STATUS_REPLY[4:8])
    assert decoder.bytes_wanted() == 1
    decoder.reset()
    assert decoder.pending == b""


def test_decode_frames_reports_a_trailing_partial_frame() -> None:
    out = codec.decode_frames(codec.status_request(0) + GOLDEN_STATUS_REPLY[:4])
    assert frames_only(out) == [codec.status_request(0)]
    assert errors_only(out)[0].reason.startswith("incomplete frame")


# properties -------------------------------------------------------------------------------------------
valid_frames = st.one_of(
    st.builds(codec.unlock_request, st.integers(0, 15), st.integers(1, 16)),
    st.builds(codec.status_request, st.integers(0, 15)),
    st.builds(codec.status_reply, st.integers(0, 15), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
)


@given(st.lists(st.binary(max_size=40), max_size=8))
def test_random_bytes_never_crash_and_every_byte_is_accounted_for(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    out: list[Frame | FrameError] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
        assert decoder.bytes_wanted() >= 1
    consumed = b"".join(item.raw if isinstance(item, Frame) else item.data for item in out)
    assert consumed + decoder.pending == b"".join(chunks)


@given(st.binary(max_size=40).map(lambda data: data.replace(b"\x02", b"")), valid_frames)
def test_a_good_frame_after_noise_is_still_decoded(noise: bytes, frame: bytes) -> None:
    out = FrameDecoder().feed(noise + frame)
    assert frames_only(out) == [frame]
    assert len(errors_only(out)) == (1 if noise else 0)


@given(st.binary(max_size=40), valid_frames)
def test_after_a_reset_any_garbage_is_forgotten(garbage: bytes, frame: bytes) -> None:
    decoder = FrameDecoder()
    decoder.feed(garbage)
    decoder.reset()
    assert frames_only(decoder.feed(frame)) == [frame]


@given(st.lists(valid_frames, min_size=1, max_size=5), st.lists(st.integers(1, 9), min_size=1))
def test_frames_split_anywhere_decode_the_same(frames: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frames)
    decoder = FrameDecoder()
    out: list[Frame | FrameError] = []
    position = 0
    for size in cuts * len(stream):
        if position >= len(stream):
            break
        out += decoder.feed(stream[position : position + size])
        position += size
    assert frames_only(out) == frames
    assert errors_only(out) == []


@given(
    st.integers(0, 15),
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=16, max_size=16),
    st.sampled_from([0, 1]),
)
def test_status_round_trips_under_either_polarity(
    board: int, readings: list[tuple[bool, bool]], hook_closed_bit: int
) -> None:
    locks = {lock: LockStatus(door_open, occupied) for lock, (door_open, occupied) in enumerate(readings, 1)}
    status = BoardStatus(board=board, locks=locks)
    [frame] = FrameDecoder().feed(codec.encode_status(status, hook_closed_bit=hook_closed_bit))
    assert isinstance(frame, Frame)
    assert codec.decode_status(frame, hook_closed_bit=hook_closed_bit) == status
