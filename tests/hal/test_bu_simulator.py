"""The simulated BU bus, checked with raw bytes from the protocol table (not with the driver's codec)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sim_exchange import exchange, no_reply

from hal.lockboard.base import SimulatedBoards
from hal.lockboard.bu.simulator import BuSimulator, EventKind, SimEvent, SimLockState
from hal.transport import SerialLike, open_transport, register_simulator, unregister_simulator

QUERY_ALL_BOARD_1 = bytes.fromhex("80 01 00 33 B2")
QUERY_ALL_BOARD_2 = bytes.fromhex("80 02 00 33 B1")
ALL_CLOSED_BOARD_1 = bytes.fromhex("80 01 FF FF FF 33 4D")
ALL_CLOSED_BOARD_2 = bytes.fromhex("80 02 FF FF FF 33 4E")
UNLOCK_1_3 = bytes.fromhex("8A 01 03 11 99")
OPENED_1_3 = bytes.fromhex("8A 01 03 00 88")  # the echo: lock 3 of board 1 now open
QUERY_1_3 = bytes.fromhex("80 01 03 33 B1")
BOARD_1_LOCK_3_OPEN = bytes.fromhex("80 01 FF FF FB 33 49")  # S1-8 FB: bit 2 (lock 3) clear


@pytest.fixture
def simulator() -> Iterator[BuSimulator]:
    sim = BuSimulator(boards=2)
    yield sim
    sim.stop()


@pytest.fixture
def port(simulator: BuSimulator) -> Iterator[SerialLike]:
    register_simulator("bu-sim-test", simulator)
    link = open_transport("sim://bu-sim-test", baudrate=9600, timeout=0.05)
    yield link
    link.close()
    unregister_simulator("bu-sim-test")


def read_within(port: SerialLike, size: int, seconds: float) -> bytes:
    """Up to `size` bytes, waiting at most about `seconds` for them."""
    data = b""
    deadline = time.monotonic() + seconds
    while len(data) < size and time.monotonic() < deadline:
        data += port.read(size - len(data))
    return data


def test_the_common_simulator_surface() -> None:
    boards: SimulatedBoards = BuSimulator(boards=3)  # checked by mypy: the QA fixture drives any family alike
    assert (boards.protocol, boards.boards) == ("bu", 3)


def test_query_all_of_closed_boards(port: SerialLike) -> None:
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1
    assert exchange(port, QUERY_ALL_BOARD_2, 7) == ALL_CLOSED_BOARD_2


def test_unlock_springs_the_door_open_until_it_is_closed(simulator: BuSimulator, port: SerialLike) -> None:
    assert exchange(port, UNLOCK_1_3, 5) == OPENED_1_3
    assert simulator.door_open(1, 3)
    assert simulator.snapshot()[1][3] == SimLockState(door_open=True, occupied=False, jammed=False,
                                                      latched=False)
    assert exchange(port, QUERY_1_3, 5) == bytes.fromhex("80 01 03 00 82")
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == BOARD_1_LOCK_3_OPEN
    assert exchange(port, QUERY_ALL_BOARD_2, 7) == ALL_CLOSED_BOARD_2
    simulator.close_door(1, 3)
    assert simulator.snapshot()[1][3].latched
    assert exchange(port, QUERY_1_3, 5) == bytes.fromhex("80 01 03 11 93")
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1


def test_the_lowest_bit_of_each_byte_is_its_lowest_lock(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.open_door(1, 9)
    simulator.open_door(1, 24)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == bytes.fromhex("80 01 7F FE FF 33 CC")


def test_parcels_are_recorded_but_never_on_the_wire(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.set_occupied(1, 1, True)
    assert simulator.occupied(1, 1)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1


def test_the_other_switch_wiring_inverts_state_and_bits() -> None:
    inverted = BuSimulator(boards=1, closed_bit=0)
    register_simulator("bu-sim-inverted", inverted)
    link = open_transport("sim://bu-sim-inverted", baudrate=9600, timeout=0.05)
    try:
        assert exchange(link, QUERY_ALL_BOARD_1, 7) == bytes.fromhex("80 01 00 00 00 33 B2")
        assert exchange(link, bytes.fromhex("80 01 01 33 B3"), 5) == bytes.fromhex("80 01 01 00 80")
        assert exchange(link, bytes.fromhex("8A 01 01 11 9B"), 5) == bytes.fromhex("8A 01 01 11 9B")
    finally:
        link.close()
        unregister_simulator("bu-sim-inverted")
        inverted.stop()


def test_a_board_with_fewer_locks_reads_the_missing_ones_closed() -> None:
    small = BuSimulator(boards=1, locks_per_board=12, baudrate=None)
    register_simulator("bu-sim-small", small)
    link = open_transport("sim://bu-sim-small", baudrate=9600, timeout=0.05)
    try:
        small.open_door(1, 12)
        # S9-16 F7: lock 12 open; 13-16 and 17-24 are not fitted and read closed
        assert exchange(link, QUERY_ALL_BOARD_1, 7) == bytes.fromhex("80 01 FF F7 FF 33 45")
        assert no_reply(link, bytes.fromhex("80 01 0D 33 BF"), 5) == b"", "no lock 13 on a 12-lock board"
        with pytest.raises(ValueError, match="lock must be 1-12"):
            small.open_door(1, 13)
    finally:
        link.close()
        unregister_simulator("bu-sim-small")
        small.stop()


def test_a_jammed_latch_ignores_the_pulse(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.jam(1, 3)
    assert exchange(port, UNLOCK_1_3, 5) == UNLOCK_1_3, "the echo of a jammed lock: still closed"
    assert not simulator.door_open(1, 3)
    simulator.jam(1, 3, jammed=False)
    assert exchange(port, UNLOCK_1_3, 5) == OPENED_1_3


def test_a_door_that_sticks_stays_open(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.set_door_sticks(1, 3)
    exchange(port, UNLOCK_1_3, 5)
    simulator.close_door(1, 3)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == BOARD_1_LOCK_3_OPEN
    assert simulator.snapshot()[1][3].sticks
    simulator.set_door_sticks(1, 3, sticks=False)
    simulator.close_door(1, 3)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1


@pytest.mark.parametrize(
    "request_hex",
    [
        "80 03 00 33 B0",  # board 3 is not on a two-board bus
        "80 00 00 33 B3",  # board 0 is never a board
        "80 01 19 33 AB",  # lock 25
        "8A 01 00 11 9A",  # open-all: not modelled, as the sheets disagree on it
    ],
)
def test_addresses_the_bus_does_not_have_are_silent(simulator: BuSimulator, port: SerialLike,
                                                    request_hex: str) -> None:
    assert no_reply(port, bytes.fromhex(request_hex), 7) == b""
    assert not any(state.door_open for board in simulator.snapshot().values() for state in board.values())


def test_a_disconnected_board_is_silent_but_the_others_answer(simulator: BuSimulator,
                                                              port: SerialLike) -> None:
    simulator.set_connected(False, board=1)
    assert not simulator.connected(1)
    assert no_reply(port, UNLOCK_1_3, 5) == b""
    assert not simulator.door_open(1, 3), "a board cut off the bus never sees the pulse"
    assert exchange(port, QUERY_ALL_BOARD_2, 7) == ALL_CLOSED_BOARD_2
    simulator.set_connected(False)
    assert no_reply(port, QUERY_ALL_BOARD_2, 7) == b""
    simulator.set_connected(True)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1


def test_bad_requests_are_ignored_as_noise(simulator: BuSimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    assert no_reply(port, bytes.fromhex("8A 01 03 11 98"), 5) == b""  # bad checksum
    assert no_reply(port, bytes.fromhex("8A 01 03 33 BB"), 5) == b""  # an unlock must carry 11
    assert exchange(port, b"\xff\x8a\x01" + QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1
    assert not simulator.door_open(1, 3)
    noise = [event.frame for event in events if event.kind == EventKind.NOISE]
    assert noise == [bytes.fromhex("8A 01 03 11 98"), bytes.fromhex("8A 01 03 33 BB"), b"\xff\x8a\x01"]


def test_listeners_see_frames_with_timestamps_and_state_changes(simulator: BuSimulator,
                                                                port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    sent_at = time.monotonic()
    exchange(port, UNLOCK_1_3, 5)
    simulator.close_door(1, 3)
    simulator.set_occupied(1, 3, True)
    simulator.remove_listener(events.append)
    simulator.set_occupied(1, 3, False)
    assert [(event.kind, event.board, event.lock, event.value) for event in events] == [
        (EventKind.FRAME_IN, 1, 3, None),
        (EventKind.UNLOCK, 1, 3, True),
        (EventKind.LATCH, 1, 3, False),
        (EventKind.DOOR, 1, 3, True),
        (EventKind.FRAME_OUT, 1, None, None),
        (EventKind.DOOR, 1, 3, False),
        (EventKind.LATCH, 1, 3, True),
        (EventKind.OCCUPIED, 1, 3, True),
    ]
    assert (events[0].frame, events[4].frame) == (UNLOCK_1_3, OPENED_1_3)
    assert sent_at <= events[0].at <= events[4].at <= time.monotonic()


def test_a_failing_listener_does_not_stop_the_board(simulator: BuSimulator, port: SerialLike) -> None:
    def broken(event: SimEvent) -> None:
        raise RuntimeError("console went away")

    simulator.add_listener(broken)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1


def test_garbled_and_noisy_replies(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.garble_replies(1)
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1[:-1] + bytes([0x4D ^ 0xFF])
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1
    simulator.noise_replies(1, before=b"\x00\x80", after=b"\xff")
    assert exchange(port, QUERY_ALL_BOARD_1, 10) == b"\x00\x80" + ALL_CLOSED_BOARD_1 + b"\xff"
    seeded = BuSimulator(seed=7)
    seeded.noise_replies(2)
    with pytest.raises(ValueError, match="whole number"):
        seeded.noise_replies(-1)


def test_a_slow_reply_comes_late(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.set_reply_delay(0.1)
    sent_at = time.monotonic()
    port.write(QUERY_ALL_BOARD_1)
    assert read_within(port, 7, 2.0) == ALL_CLOSED_BOARD_1
    assert time.monotonic() - sent_at >= 0.1


def test_a_silent_unlock_still_pulses(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.set_unlock_ack(False)
    assert no_reply(port, UNLOCK_1_3, 5) == b""
    assert simulator.door_open(1, 3)


def test_a_busy_board_misses_its_next_requests(simulator: BuSimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    simulator.set_busy(1, 2)
    assert simulator.busy(1) == 2
    assert no_reply(port, UNLOCK_1_3, 5) == b""
    assert not simulator.door_open(1, 3), "a busy board does not act on what it missed"
    assert exchange(port, QUERY_ALL_BOARD_2, 7) == ALL_CLOSED_BOARD_2, "only board 1 is busy"
    assert no_reply(port, QUERY_ALL_BOARD_1, 7) == b""
    assert simulator.busy(1) == 0
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == ALL_CLOSED_BOARD_1
    missed = [event.frame for event in events if event.kind == EventKind.FRAME_IN and event.value is False]
    assert missed == [UNLOCK_1_3, QUERY_ALL_BOARD_1]


def test_the_echo_waits_for_the_pulse_and_the_board_ignores_what_it_hears_meanwhile(
        simulator: BuSimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    simulator.set_pulse_time(0.1)
    sent_at = time.monotonic()
    port.write(UNLOCK_1_3 + QUERY_ALL_BOARD_1 + QUERY_ALL_BOARD_2)  # one write: heard during the pulse
    assert read_within(port, 12, 2.0) == ALL_CLOSED_BOARD_2 + OPENED_1_3, "board 2 is not pulsing"
    assert time.monotonic() - sent_at >= 0.1
    ignored = [event.frame for event in events if event.kind == EventKind.FRAME_IN and event.value is False]
    assert ignored == [QUERY_ALL_BOARD_1]
    assert exchange(port, QUERY_ALL_BOARD_1, 7) == BOARD_1_LOCK_3_OPEN, "the pulse is over"


def test_control_calls_check_their_arguments(simulator: BuSimulator) -> None:
    with pytest.raises(ValueError, match="board must be 1-2"):
        simulator.close_door(0, 1)
    with pytest.raises(ValueError, match="board must be 1-2"):
        simulator.set_busy(3, 1)
    with pytest.raises(ValueError, match="lock must be 1-24"):
        simulator.open_door(1, 25)
    with pytest.raises(ValueError, match="boards must be 1-64"):
        BuSimulator(boards=65)
    with pytest.raises(ValueError, match="closed_bit"):
        BuSimulator(closed_bit=2)
    with pytest.raises(ValueError, match="locks_per_board"):
        BuSimulator(locks_per_board=0)
    with pytest.raises(ValueError, match="baudrate"):
        BuSimulator(baudrate=0)
    for setter in (simulator.set_reply_delay, simulator.set_pulse_time):
        with pytest.raises(ValueError, match="seconds >= 0"):
            setter(-1)
    with pytest.raises(ValueError, match="whole number"):
        simulator.garble_replies(-1)
    with pytest.raises(ValueError, match="whole number"):
        simulator.set_busy(1, -1)


def test_served_on_a_real_pty(simulator: BuSimulator) -> None:
    link = open_transport(simulator.serve_pty(), baudrate=9600, timeout=0.2)
    try:
        assert exchange(link, UNLOCK_1_3, 5) == OPENED_1_3
        assert exchange(link, QUERY_ALL_BOARD_1, 7) == BOARD_1_LOCK_3_OPEN
    finally:
        link.close()


def test_served_on_tcp_one_client_after_another(simulator: BuSimulator) -> None:
    port = simulator.serve_tcp(0)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
            client.sendall(QUERY_ALL_BOARD_1)
            reply = b""
            while len(reply) < 7:
                chunk = client.recv(7 - len(reply))
                assert chunk, "the simulator hung up"
                reply += chunk
            assert reply == ALL_CLOSED_BOARD_1


def test_stop_joins_every_serving_thread_and_may_be_called_twice(simulator: BuSimulator) -> None:
    before = threading.active_count()
    register_simulator("bu-sim-stop", simulator)
    try:
        simulator.serve_pty()
        simulator.serve_tcp(0)
        link = open_transport("sim://bu-sim-stop", baudrate=9600, timeout=0.05)
        assert threading.active_count() == before + 6, "a reader and a replier per served link"
        simulator.stop()
        simulator.stop()
        assert threading.active_count() == before
        link.close()
    finally:
        unregister_simulator("bu-sim-stop")


def test_a_stopped_simulator_can_serve_again(simulator: BuSimulator, port: SerialLike) -> None:
    simulator.open_door(2, 24)
    simulator.stop()
    link = open_transport("sim://bu-sim-test", baudrate=9600, timeout=0.05)
    try:
        assert exchange(link, QUERY_ALL_BOARD_2, 7) == bytes.fromhex("80 02 7F FF FF 33 CE")
    finally:
        link.close()
