"""The simulated WKLY bus, checked with raw bytes worked out from the protocol table (not with the codec)."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sim_exchange import exchange, no_reply

from hal.lockboard.wkly.simulator import EventKind, SimEvent, SimLockState, WklySimulator
from hal.transport import SerialLike, open_transport, register_simulator, unregister_simulator

H = "57 4B 4C 59"
QUERY_ALL_BOARD_0 = bytes.fromhex(f"{H} 08 00 84 85")
QUERY_ALL_BOARD_1 = bytes.fromhex(f"{H} 08 01 84 84")
FOUR_CLOSED_BOARD_0 = bytes.fromhex(f"{H} 0E 00 84 00 04 01 01 01 01 87")
FOUR_CLOSED_BOARD_1 = bytes.fromhex(f"{H} 0E 01 84 00 04 01 01 01 01 86")
OPEN_BOARD_1_LOCK_3 = bytes.fromhex(f"{H} 09 01 82 03 80")
PUSH_BOARD_1_LOCK_3_OPEN = bytes.fromhex(f"{H} 0A 01 85 03 00 84")
PUSH_BOARD_1_LOCK_3_CLOSED = bytes.fromhex(f"{H} 0A 01 85 03 01 85")
OPENED_BOARD_1_LOCK_3 = bytes.fromhex(f"{H} 0B 01 82 00 03 00 82")
QUERY_BOARD_1_LOCK_3 = bytes.fromhex(f"{H} 09 01 83 03 81")
OPEN_ALL_BOARD_1 = bytes.fromhex(f"{H} 08 01 86 86")
OPEN_ALL_DONE_BOARD_1 = bytes.fromhex(f"{H} 09 01 86 00 87")

_names = itertools.count()


@pytest.fixture
def simulator() -> Iterator[WklySimulator]:
    # four locks a board keep the golden frames short; baudrate None answers at once
    sim = WklySimulator(boards=2, locks=4, baudrate=None)
    yield sim
    sim.stop()


@pytest.fixture
def sim_url(simulator: WklySimulator) -> Iterator[str]:
    name = f"wkly-sim-test-{next(_names)}"
    register_simulator(name, simulator)
    yield f"sim://{name}"
    unregister_simulator(name)


@pytest.fixture
def port(sim_url: str) -> Iterator[SerialLike]:
    link = open_transport(sim_url, baudrate=9600, timeout=0.05)
    yield link
    link.close()


def test_query_all_of_closed_boards(port: SerialLike) -> None:
    assert exchange(port, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0
    assert exchange(port, QUERY_ALL_BOARD_1, 14) == FOUR_CLOSED_BOARD_1


def test_a_24_lock_board_reports_24_doors() -> None:
    sim = WklySimulator(boards=1)
    register_simulator("wkly-sim-24", sim)
    link = open_transport("sim://wkly-sim-24", baudrate=9600, timeout=0.5)
    try:
        assert exchange(link, QUERY_ALL_BOARD_0, 34) == bytes.fromhex(f"{H} 22 00 84 00 18 {'01 ' * 24} B7")
    finally:
        link.close()
        unregister_simulator("wkly-sim-24")
        sim.stop()


def test_open_pushes_the_door_change_before_the_reply(simulator: WklySimulator, port: SerialLike) -> None:
    assert exchange(port, OPEN_BOARD_1_LOCK_3, 21) == PUSH_BOARD_1_LOCK_3_OPEN + OPENED_BOARD_1_LOCK_3
    opened = SimLockState(door_open=True, occupied=False, jammed=False, latched=False, sticks=False)
    assert simulator.snapshot()[1][3] == opened
    assert exchange(port, QUERY_BOARD_1_LOCK_3, 11) == bytes.fromhex(f"{H} 0B 01 83 00 03 00 83")
    assert exchange(port, QUERY_ALL_BOARD_1, 14) == bytes.fromhex(f"{H} 0E 01 84 00 04 01 01 00 01 87")


def test_doors_moved_by_hand_are_pushed_unprompted(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.open_door(1, 3)
    simulator.open_door(1, 3)  # no movement, nothing to say
    simulator.close_door(1, 3)
    assert port.read(30) == PUSH_BOARD_1_LOCK_3_OPEN + PUSH_BOARD_1_LOCK_3_CLOSED
    assert simulator.snapshot()[1][3].latched


def test_a_jammed_latch_ignores_the_pulse_and_says_so(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.jam(1, 3)
    assert exchange(port, OPEN_BOARD_1_LOCK_3, 21) == bytes.fromhex(f"{H} 0B 01 82 00 03 01 83")
    assert not simulator.door_open(1, 3)
    simulator.jam(1, 3, jammed=False)
    assert exchange(port, OPEN_BOARD_1_LOCK_3, 21) == PUSH_BOARD_1_LOCK_3_OPEN + OPENED_BOARD_1_LOCK_3


def test_open_all_pushes_every_door_that_opens(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.jam(1, 2)
    pushes = [bytes.fromhex(f"{H} 0A 01 85 {lock:02X} 00 {0x86 ^ 1 ^ lock:02X}") for lock in (1, 3, 4)]
    assert no_reply(port, OPEN_ALL_BOARD_1, 39) == b"".join(pushes) + OPEN_ALL_DONE_BOARD_1
    assert [lock for lock, state in simulator.snapshot()[1].items() if not state.door_open] == [2]
    assert not any(state.door_open for state in simulator.snapshot()[0].values())


def test_a_lock_the_board_does_not_have_fails_with_status_ff(port: SerialLike) -> None:
    open_lock_5 = bytes.fromhex(f"{H} 09 00 82 05 87")
    assert exchange(port, open_lock_5, 11) == bytes.fromhex(f"{H} 0B 00 82 FF 05 FF 85")


def test_a_busy_board_refuses_its_next_requests_with_status_ff(simulator: WklySimulator,
                                                                port: SerialLike) -> None:
    simulator.set_busy(board=1, requests=3)
    assert simulator.busy(1) == 3
    assert exchange(port, OPEN_BOARD_1_LOCK_3, 21) == bytes.fromhex(f"{H} 0B 01 82 FF 03 FF 82")
    assert not simulator.door_open(1, 3)
    assert exchange(port, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0, "only board 1 is busy"
    assert exchange(port, QUERY_ALL_BOARD_1, 14) == bytes.fromhex(f"{H} 0A 01 84 FF 00 79")
    assert exchange(port, OPEN_ALL_BOARD_1, 9) == bytes.fromhex(f"{H} 09 01 86 FF 78")
    assert simulator.busy(1) == 0
    assert exchange(port, QUERY_ALL_BOARD_1, 14) == FOUR_CLOSED_BOARD_1
    simulator.set_busy(board=1, requests=5)
    simulator.set_busy(board=1, requests=0)
    assert exchange(port, QUERY_ALL_BOARD_1, 14) == FOUR_CLOSED_BOARD_1


def test_a_door_that_sticks_does_not_latch_when_pushed_shut(simulator: WklySimulator,
                                                            port: SerialLike) -> None:
    simulator.set_door_sticks(1, 3)
    assert exchange(port, OPEN_BOARD_1_LOCK_3, 21) == PUSH_BOARD_1_LOCK_3_OPEN + OPENED_BOARD_1_LOCK_3
    simulator.close_door(1, 3)
    assert port.read(10) == b"", "it never closed, so nothing is pushed"
    assert simulator.snapshot()[1][3].sticks and simulator.door_open(1, 3)
    simulator.set_door_sticks(1, 3, sticks=False)
    simulator.close_door(1, 3)
    assert port.read(10) == PUSH_BOARD_1_LOCK_3_CLOSED


def test_noise_around_replies(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.noise_replies(1, before=b"\x00\x01", after=b"\xfe")
    assert exchange(port, QUERY_ALL_BOARD_0, 17) == b"\x00\x01" + FOUR_CLOSED_BOARD_0 + b"\xfe"
    simulator.noise_replies(2)
    for _ in range(2):
        noisy = exchange(port, QUERY_ALL_BOARD_0, 40)
        assert FOUR_CLOSED_BOARD_0 in noisy and len(noisy) >= 14 + 2
    assert exchange(port, QUERY_ALL_BOARD_0, 40) == FOUR_CLOSED_BOARD_0


def test_firmware_that_does_not_acknowledge_opens(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.set_unlock_ack(False)
    assert exchange(port, OPEN_BOARD_1_LOCK_3, 21) == PUSH_BOARD_1_LOCK_3_OPEN, "the push, but no reply"
    assert exchange(port, QUERY_BOARD_1_LOCK_3, 11) == bytes.fromhex(f"{H} 0B 01 83 00 03 00 83")


def test_an_open_is_acknowledged_after_the_pulse(simulator: WklySimulator, sim_url: str) -> None:
    simulator.set_pulse_time(0.06)
    link = open_transport(sim_url, baudrate=9600, timeout=0.5)
    try:
        link.write(OPEN_BOARD_1_LOCK_3)
        assert link.read(10) == PUSH_BOARD_1_LOCK_3_OPEN, "the door springs open at once"
        pushed_at = time.monotonic()
        assert link.read(11) == OPENED_BOARD_1_LOCK_3
        assert time.monotonic() - pushed_at >= 0.05
    finally:
        link.close()


def test_a_disconnected_board_neither_answers_nor_pushes(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.set_connected(False, board=1)
    assert no_reply(port, OPEN_BOARD_1_LOCK_3, 21) == b""
    assert not simulator.door_open(1, 3), "a board cut off the bus never sees the pulse"
    simulator.open_door(1, 4)
    assert port.read(10) == b"", "a change while cut off is never pushed"
    assert exchange(port, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0
    simulator.set_connected(True)
    assert simulator.connected(1)
    assert exchange(port, QUERY_ALL_BOARD_1, 14) == bytes.fromhex(f"{H} 0E 01 84 00 04 01 01 01 00 87")


def test_a_board_beyond_the_bus_is_silent(port: SerialLike) -> None:
    assert no_reply(port, bytes.fromhex(f"{H} 08 05 84 80"), 14) == b""


def test_faults_garbled_reply_garbled_push_and_slow_reply(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.garble_replies(1)
    assert exchange(port, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0[:-1] + bytes([0x87 ^ 0xFF])
    assert exchange(port, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0
    simulator.garble_pushes(1)
    simulator.open_door(1, 3)
    simulator.close_door(1, 3)
    assert port.read(20) == PUSH_BOARD_1_LOCK_3_OPEN[:-1] + bytes([0x84 ^ 0xFF]) + PUSH_BOARD_1_LOCK_3_CLOSED
    simulator.set_reply_delay(0.2)
    assert no_reply(port, QUERY_ALL_BOARD_0, 14) == b"", "a reply slower than the 50 ms read timeout"


def test_bad_requests_are_ignored_as_noise(simulator: WklySimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    assert no_reply(port, OPEN_BOARD_1_LOCK_3[:-1] + b"\x00", 21) == b""  # bad checksum
    assert exchange(port, b"\xff\xfe" + QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0
    assert not simulator.door_open(1, 3)
    noise = b"".join(event.frame for event in events if event.kind == EventKind.NOISE)
    assert noise == OPEN_BOARD_1_LOCK_3[:-1] + b"\x00\xff\xfe"


def test_a_partial_request_is_dropped_after_a_quiet_gap(simulator: WklySimulator, sim_url: str) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    # The read timeout is longer than the board's 0.1 s inter-frame gap, so the line is quiet that long.
    link = open_transport(sim_url, baudrate=9600, timeout=0.15)
    try:
        link.write(bytes.fromhex(f"{H} 40 00 84"))  # claims to be 64 bytes long, then nothing more comes
        assert link.read(1) == b""
        assert exchange(link, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0, "heard afresh after the gap"
    finally:
        link.close()
    assert [event.frame for event in events if event.kind == EventKind.NOISE] == [
        bytes.fromhex(f"{H} 40 00 84")]


def test_every_served_link_hears_the_pushes(simulator: WklySimulator, port: SerialLike) -> None:
    pty = open_transport(simulator.serve_pty(), baudrate=9600, timeout=0.5)
    try:
        simulator.open_door(1, 3)
        assert port.read(10) == PUSH_BOARD_1_LOCK_3_OPEN
        assert pty.read(10) == PUSH_BOARD_1_LOCK_3_OPEN
        assert exchange(pty, QUERY_BOARD_1_LOCK_3, 11) == bytes.fromhex(f"{H} 0B 01 83 00 03 00 83")
        assert port.read(11) == b"", "a reply goes only to the link that asked"
    finally:
        pty.close()


def test_listeners_see_frames_and_changes_in_wire_order(simulator: WklySimulator, port: SerialLike) -> None:
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    sent_at = time.monotonic()
    exchange(port, OPEN_BOARD_1_LOCK_3, 21)
    simulator.close_door(1, 3)
    simulator.remove_listener(events.append)
    simulator.set_occupied(1, 3, True)
    assert [(event.kind, event.board, event.lock, event.value) for event in events] == [
        (EventKind.FRAME_IN, 1, 3, None),
        (EventKind.UNLOCK, 1, 3, True),
        (EventKind.LATCH, 1, 3, False),
        (EventKind.DOOR, 1, 3, True),
        (EventKind.FRAME_OUT, 1, 3, None),
        (EventKind.FRAME_OUT, 1, 3, None),
        (EventKind.DOOR, 1, 3, False),
        (EventKind.FRAME_OUT, 1, 3, None),
        (EventKind.LATCH, 1, 3, True),
    ]
    assert [event.frame for event in events if event.kind == EventKind.FRAME_OUT] == [
        PUSH_BOARD_1_LOCK_3_OPEN, OPENED_BOARD_1_LOCK_3, PUSH_BOARD_1_LOCK_3_CLOSED]
    assert sent_at <= events[0].at <= events[-1].at <= time.monotonic()
    assert simulator.occupied(1, 3), "kept in the model, never on the wire: these boards have no IR sensor"


def test_a_failing_listener_does_not_stop_the_board(simulator: WklySimulator, port: SerialLike) -> None:
    def broken(event: SimEvent) -> None:
        raise RuntimeError("console went away")

    simulator.add_listener(broken)
    assert exchange(port, QUERY_ALL_BOARD_0, 14) == FOUR_CLOSED_BOARD_0


def test_injected_noise_reaches_the_host(simulator: WklySimulator, port: SerialLike) -> None:
    simulator.inject(b"\x00\x57\xff")
    assert port.read(3) == b"\x00\x57\xff"


def test_replies_take_their_wire_time_at_the_baud_rate() -> None:
    sim = WklySimulator(boards=1, baudrate=9600)
    register_simulator("wkly-sim-baud", sim)
    link = open_transport("sim://wkly-sim-baud", baudrate=9600, timeout=0.5)
    try:
        started = time.monotonic()
        assert len(exchange(link, QUERY_ALL_BOARD_0, 34)) == 34
        assert time.monotonic() - started >= 34 * 10 / 9600  # 35 ms for 34 bytes at 8N1
    finally:
        link.close()
        unregister_simulator("wkly-sim-baud")
        sim.stop()


def test_control_calls_check_their_arguments(simulator: WklySimulator) -> None:
    with pytest.raises(ValueError, match="board must be 0-1"):
        simulator.close_door(2, 1)
    with pytest.raises(ValueError, match="lock must be 1-4"):
        simulator.open_door(0, 5)
    with pytest.raises(ValueError, match="board must be 0-1"):
        simulator.set_busy(board=7, requests=1)
    with pytest.raises(ValueError, match="requests"):
        simulator.set_busy(board=0, requests=-1)
    with pytest.raises(ValueError, match="negative"):
        simulator.set_pulse_time(-0.1)
    with pytest.raises(ValueError, match="negative"):
        simulator.noise_replies(-1)
    with pytest.raises(ValueError, match="boards must be 1-256"):
        WklySimulator(boards=0)
    with pytest.raises(ValueError, match="locks must be 1-245"):
        WklySimulator(locks=0)
    with pytest.raises(ValueError, match="baudrate"):
        WklySimulator(baudrate=0)
    with pytest.raises(ValueError, match="negative"):
        simulator.set_reply_delay(-1)
    with pytest.raises(ValueError, match="negative"):
        simulator.garble_pushes(-1)


def test_served_on_a_real_pty(simulator: WklySimulator) -> None:
    link = open_transport(simulator.serve_pty(), baudrate=9600, timeout=0.5)
    try:
        assert exchange(link, OPEN_BOARD_1_LOCK_3, 21) == PUSH_BOARD_1_LOCK_3_OPEN + OPENED_BOARD_1_LOCK_3
    finally:
        link.close()


def test_served_on_tcp_one_client_after_another(simulator: WklySimulator) -> None:
    port = simulator.serve_tcp(0)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
            client.sendall(QUERY_ALL_BOARD_0)
            reply = b""
            while len(reply) < 14:
                chunk = client.recv(14 - len(reply))
                assert chunk, "the simulator hung up"
                reply += chunk
            assert reply == FOUR_CLOSED_BOARD_0


def test_stop_joins_every_serving_thread_and_may_be_called_twice(simulator: WklySimulator,
                                                                 port: SerialLike) -> None:
    before = {thread for thread in threading.enumerate() if thread.name.startswith("wkly-sim")}
    simulator.serve_pty()
    simulator.serve_tcp(0)
    assert len({thread for thread in threading.enumerate() if thread.name.startswith("wkly-sim")}) == 3
    assert len(before) == 1
    simulator.stop()
    simulator.stop()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("wkly-sim")]
    simulator.open_door(0, 1)  # no link left: the push goes nowhere, and nothing breaks
    assert simulator.door_open(0, 1)
