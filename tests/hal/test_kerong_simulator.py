"""The simulated Kerong bus, checked with raw bytes from the protocol table (not with the driver's codec)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sim_exchange import exchange, no_reply

from hal.lockboard.kerong.simulator import EventKind, KerongSimulator, SimEvent, SimLockState
from hal.transport import SerialLike, open_transport, register_simulator, unregister_simulator

STATUS_BOARD_0 = bytes.fromhex("02 00 30 03 35")
STATUS_BOARD_1 = bytes.fromhex("02 10 30 03 45")
UNLOCK_BOARD_1_LOCK_3 = bytes.fromhex("02 12 31 03 48")
ALL_CLOSED_BOARD_0 = bytes.fromhex("02 00 35 FF FF 00 00 03 38")
ALL_CLOSED_BOARD_1 = bytes.fromhex("02 10 35 FF FF 00 00 03 48")
# board 1 after unlocking lock 3, acknowledged at the unlock's address: hook bit 3 cleared
BOARD_1_LOCK_3_OPEN_ACK = bytes.fromhex("02 12 35 FB FF 00 00 03 46")


@pytest.fixture
def port(sim_url: str) -> Iterator[SerialLike]:
    link = open_transport(sim_url, baudrate=19200, timeout=0.05)
    yield link
    link.close()


def test_status_of_a_closed_empty_board(port: SerialLike) -> None:
    assert exchange(port, STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0
    assert exchange(port, STATUS_BOARD_1, 9) == ALL_CLOSED_BOARD_1


def test_unlock_springs_the_door_open_until_it_is_closed(simulator: KerongSimulator,
                                                         port: SerialLike) -> None:
    assert exchange(port, UNLOCK_BOARD_1_LOCK_3, 9) == BOARD_1_LOCK_3_OPEN_ACK
    assert simulator.door_open(1, 3)
    opened = SimLockState(door_open=True, occupied=False, jammed=False, latched=False)
    assert simulator.snapshot()[1][3] == opened
    assert exchange(port, STATUS_BOARD_1, 9) == bytes.fromhex("02 10 35 FB FF 00 00 03 44")
    simulator.close_door(1, 3)
    assert not simulator.door_open(1, 3)
    assert simulator.snapshot()[1][3].latched
    assert exchange(port, STATUS_BOARD_1, 9) == ALL_CLOSED_BOARD_1


def test_infrared_bits_and_the_second_byte(simulator: KerongSimulator, port: SerialLike) -> None:
    simulator.set_occupied(0, 1, True)
    simulator.set_occupied(0, 16, True)
    simulator.open_door(0, 9)
    # hooks FFFF with lock 9 (bit 0 of H9-16) open -> FF FE; infrared 8001 -> 01 80
    assert exchange(port, STATUS_BOARD_0, 9) == bytes.fromhex("02 00 35 FF FE 01 80 03 B8")


def test_hook_polarity_zero_reports_closed_doors_as_zero_bits() -> None:
    inverted = KerongSimulator(boards=1, hook_closed_bit=0)
    register_simulator("hal-test-inverted", inverted)
    link = open_transport("sim://hal-test-inverted", baudrate=19200, timeout=0.05)
    try:
        assert exchange(link, STATUS_BOARD_0, 9) == bytes.fromhex("02 00 35 00 00 00 00 03 3A")
    finally:
        link.close()
        unregister_simulator("hal-test-inverted")
        inverted.stop()


def test_a_jammed_latch_ignores_the_pulse(simulator: KerongSimulator, port: SerialLike) -> None:
    simulator.jam(1, 3)
    assert exchange(port, UNLOCK_BOARD_1_LOCK_3, 9) == bytes.fromhex("02 12 35 FF FF 00 00 03 4A")
    assert not simulator.door_open(1, 3)
    simulator.jam(1, 3, jammed=False)
    exchange(port, UNLOCK_BOARD_1_LOCK_3, 9)
    assert simulator.door_open(1, 3)


def test_a_disconnected_board_is_silent_but_the_others_answer(simulator: KerongSimulator,
                                                              port: SerialLike) -> None:
    simulator.set_connected(False, board=1)
    assert no_reply(port, UNLOCK_BOARD_1_LOCK_3, 9) == b""
    assert not simulator.door_open(1, 3), "a board cut off the bus never sees the pulse"
    assert exchange(port, STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0
    simulator.set_connected(False)
    assert no_reply(port, STATUS_BOARD_0, 9) == b""
    simulator.set_connected(True)
    assert exchange(port, STATUS_BOARD_1, 9) == ALL_CLOSED_BOARD_1


def test_a_board_beyond_the_bus_is_silent(port: SerialLike) -> None:
    assert no_reply(port, bytes.fromhex("02 50 30 03 85"), 9) == b""


def test_status_of_all_boards_answers_once_per_board(port: SerialLike) -> None:
    assert exchange(port, bytes.fromhex("02 00 32 03 37"), 18) == ALL_CLOSED_BOARD_0 + ALL_CLOSED_BOARD_1


def test_unlock_all_opens_every_free_latch_of_one_board(simulator: KerongSimulator, port: SerialLike) -> None:
    simulator.jam(1, 16)
    assert exchange(port, bytes.fromhex("02 10 33 03 48"), 9) == bytes.fromhex("02 10 35 00 80 00 00 03 CA")
    assert [lock for lock, state in simulator.snapshot()[1].items() if not state.door_open] == [16]
    assert not any(state.door_open for state in simulator.snapshot()[0].values())


def test_bad_requests_are_ignored_as_noise(simulator: KerongSimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    assert no_reply(port, bytes.fromhex("02 12 31 03 49"), 9) == b""  # bad checksum
    assert exchange(port, b"\xff\xfe" + STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0
    assert not simulator.door_open(1, 3)
    noise = b"".join(event.frame for event in events if event.kind == EventKind.NOISE)
    assert noise == bytes.fromhex("02 12 31 03 49 FF FE")


def test_listeners_see_frames_with_timestamps_and_state_changes(simulator: KerongSimulator,
                                                                port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    sent_at = time.monotonic()
    exchange(port, UNLOCK_BOARD_1_LOCK_3, 9)
    simulator.close_door(1, 3)
    simulator.remove_listener(events.append)
    simulator.set_occupied(1, 3, True)
    assert [(event.kind, event.board, event.lock, event.value) for event in events] == [
        (EventKind.FRAME_IN, 1, 3, None),
        (EventKind.UNLOCK, 1, 3, True),
        (EventKind.LATCH, 1, 3, False),
        (EventKind.DOOR, 1, 3, True),
        (EventKind.FRAME_OUT, 1, None, None),
        (EventKind.DOOR, 1, 3, False),
        (EventKind.LATCH, 1, 3, True),
    ]
    assert events[0].frame == UNLOCK_BOARD_1_LOCK_3
    assert events[4].frame == BOARD_1_LOCK_3_OPEN_ACK
    assert sent_at <= events[0].at <= events[4].at <= time.monotonic()


def test_a_failing_listener_does_not_stop_the_board(simulator: KerongSimulator, port: SerialLike) -> None:
    def broken(event: SimEvent) -> None:
        raise RuntimeError("console went away")

    simulator.add_listener(broken)
    assert exchange(port, STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0


def test_faults_garbled_slow_and_silent_unlock(simulator: KerongSimulator, port: SerialLike) -> None:
    simulator.garble_replies(1)
    assert exchange(port, STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0[:-1] + bytes([0x38 ^ 0xFF])
    assert exchange(port, STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0
    simulator.set_unlock_ack(False)
    assert no_reply(port, UNLOCK_BOARD_1_LOCK_3, 9) == b""
    assert simulator.door_open(1, 3)
    simulator.set_reply_delay(0.2)
    assert no_reply(port, STATUS_BOARD_0, 9) == b"", "a reply slower than the 50 ms read timeout"


def test_control_calls_check_their_arguments(simulator: KerongSimulator) -> None:
    with pytest.raises(ValueError, match="board must be 0-1"):
        simulator.close_door(2, 1)
    with pytest.raises(ValueError, match="lock must be 1-16"):
        simulator.open_door(0, 0)
    with pytest.raises(ValueError, match="boards must be 1-16"):
        KerongSimulator(boards=0)
    with pytest.raises(ValueError, match="hook_closed_bit"):
        KerongSimulator(hook_closed_bit=2)
    with pytest.raises(ValueError, match="negative"):
        simulator.set_reply_delay(-1)


def test_served_on_a_real_pty(simulator: KerongSimulator, pty_path: str) -> None:
    link = open_transport(pty_path, baudrate=19200, timeout=0.2)
    try:
        assert exchange(link, UNLOCK_BOARD_1_LOCK_3, 9) == BOARD_1_LOCK_3_OPEN_ACK
        assert simulator.door_open(1, 3)
    finally:
        link.close()


def test_served_on_tcp_one_client_after_another(simulator: KerongSimulator) -> None:
    port = simulator.serve_tcp(0)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
            client.sendall(STATUS_BOARD_0)
            reply = b""
            while len(reply) < 9:
                chunk = client.recv(9 - len(reply))
                assert chunk, "the simulator hung up"
                reply += chunk
            assert reply == ALL_CLOSED_BOARD_0


def test_stop_joins_every_serving_thread_and_may_be_called_twice(simulator: KerongSimulator,
                                                                 sim_url: str) -> None:
    before = threading.active_count()
    simulator.serve_pty()
    simulator.serve_tcp(0)
    link = open_transport(sim_url, baudrate=19200, timeout=0.05)
    assert threading.active_count() == before + 3
    simulator.stop()
    simulator.stop()
    assert threading.active_count() == before
    link.close()


# the faults a real bus shows ------------------------------------------------------------------------------
STATUS_ALL_AT_00 = bytes.fromhex("02 00 32 03 37")
STATUS_ALL_AT_FF = bytes.fromhex("02 FF 32 03 36")


def test_a_busy_board_misses_its_next_requests_then_answers(simulator: KerongSimulator,
                                                            port: SerialLike) -> None:
    simulator.set_busy(1, 2)
    assert simulator.busy(1) == 2
    assert no_reply(port, UNLOCK_BOARD_1_LOCK_3, 9) == b"", "missed: not acted on, not answered"
    assert not simulator.door_open(1, 3)
    assert exchange(port, STATUS_ALL_AT_00, 18) == ALL_CLOSED_BOARD_0, "the broadcast is missed too"
    assert simulator.busy(1) == 0
    assert exchange(port, UNLOCK_BOARD_1_LOCK_3, 9) == BOARD_1_LOCK_3_OPEN_ACK
    assert exchange(port, STATUS_BOARD_0, 9) == ALL_CLOSED_BOARD_0, "the other board was never busy"


def test_busy_checks_its_arguments(simulator: KerongSimulator) -> None:
    with pytest.raises(ValueError, match="requests must be"):
        simulator.set_busy(0, -1)
    with pytest.raises(ValueError, match="board must be 0-1"):
        simulator.set_busy(2, 1)


def test_a_sticking_door_does_not_latch_when_pushed_shut(simulator: KerongSimulator,
                                                         port: SerialLike) -> None:
    simulator.set_door_sticks(1, 3)
    assert exchange(port, UNLOCK_BOARD_1_LOCK_3, 9) == BOARD_1_LOCK_3_OPEN_ACK
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    simulator.close_door(1, 3)
    assert simulator.door_open(1, 3)
    assert simulator.snapshot()[1][3] == SimLockState(door_open=True, occupied=False, jammed=False,
                                                      latched=False, sticks=True)
    assert events == [], "nothing moved"
    assert exchange(port, STATUS_BOARD_1, 9) == bytes.fromhex("02 10 35 FB FF 00 00 03 44")
    simulator.set_door_sticks(1, 3, False)
    simulator.close_door(1, 3)
    assert exchange(port, STATUS_BOARD_1, 9) == ALL_CLOSED_BOARD_1


def test_line_noise_around_replies(simulator: KerongSimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    simulator.noise_replies(1, before=b"\xff\x02\x00", after=b"\x35")
    assert exchange(port, STATUS_BOARD_0, 64) == b"\xff\x02\x00" + ALL_CLOSED_BOARD_0 + b"\x35"
    assert exchange(port, STATUS_BOARD_0, 64) == ALL_CLOSED_BOARD_0, "only the next reply"
    sent = [(event.kind, event.board, event.frame) for event in events if event.kind != EventKind.FRAME_IN]
    assert sent[:3] == [(EventKind.NOISE, 0, b"\xff\x02\x00"), (EventKind.NOISE, 0, b"\x35"),
                        (EventKind.FRAME_OUT, 0, ALL_CLOSED_BOARD_0)]


def test_random_line_noise_is_one_to_eight_bytes_each_side() -> None:
    noisy = KerongSimulator(boards=1, baudrate=None, seed=7)
    register_simulator("hal-test-noisy", noisy)
    link = open_transport("sim://hal-test-noisy", baudrate=19200, timeout=0.05)
    try:
        noisy.noise_replies(3)
        for _ in range(3):
            received = exchange(link, STATUS_BOARD_0, 64)
            start = received.index(ALL_CLOSED_BOARD_0)
            assert 1 <= start <= 8
            assert 1 <= len(received) - start - len(ALL_CLOSED_BOARD_0) <= 8
        assert exchange(link, STATUS_BOARD_0, 64) == ALL_CLOSED_BOARD_0
    finally:
        link.close()
        unregister_simulator("hal-test-noisy")
        noisy.stop()


def test_the_query_all_address_can_be_required() -> None:
    strict = KerongSimulator(boards=2, query_all_address=0xFF)
    register_simulator("hal-test-strict", strict)
    link = open_transport("sim://hal-test-strict", baudrate=19200, timeout=0.05)
    try:
        assert no_reply(link, STATUS_ALL_AT_00, 18) == b""
        assert exchange(link, STATUS_ALL_AT_FF, 18) == ALL_CLOSED_BOARD_0 + ALL_CLOSED_BOARD_1
    finally:
        link.close()
        unregister_simulator("hal-test-strict")
        strict.stop()
    with pytest.raises(ValueError, match="query_all_address"):
        KerongSimulator(query_all_address=256)


def test_sixteen_boards_answer_the_broadcast_in_address_order() -> None:
    full = KerongSimulator(boards=16, baudrate=None)
    register_simulator("hal-test-full", full)
    link = open_transport("sim://hal-test-full", baudrate=19200, timeout=0.05)
    try:
        replies = exchange(link, STATUS_ALL_AT_00, 16 * 9)
        addresses = [replies[index + 1] for index in range(0, len(replies), 9)]
        assert addresses == [board << 4 for board in range(16)]
    finally:
        link.close()
        unregister_simulator("hal-test-full")
        full.stop()
