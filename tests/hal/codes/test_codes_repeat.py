"""RepeatFilter: a code held up counts once; shown again after the window, it counts again."""

from __future__ import annotations

import threading

import pytest

from hal.codes import Symbology
from hal.codes.repeat import RepeatFilter

QR = Symbology.QR
PICKUP = b"LK1:P:WAW-014:4821937"


def test_the_first_sighting_is_fresh_and_the_next_within_the_window_is_not() -> None:
    seen = RepeatFilter(window_s=3.0)
    assert seen.fresh(QR, PICKUP, 100.0)
    assert not seen.fresh(QR, PICKUP, 100.1)
    assert not seen.fresh(QR, PICKUP, 102.9)


def test_a_code_held_up_for_a_long_time_counts_once() -> None:
    seen = RepeatFilter(window_s=3.0)
    sightings = [seen.fresh(QR, PICKUP, 10.0 + frame / 30) for frame in range(30 * 20)]  # 20 s at 30 fps
    assert sightings[0] and not any(sightings[1:])


def test_the_window_slides_with_every_sighting() -> None:
    seen = RepeatFilter(window_s=3.0)
    assert seen.fresh(QR, PICKUP, 0.0)
    # Seen every 2.5 s: never out of sight for 3 s, although 7.5 s pass since the first sighting.
    assert not any(seen.fresh(QR, PICKUP, at) for at in (2.5, 5.0, 7.5))


def test_a_code_is_fresh_again_once_out_of_sight_for_the_window() -> None:
    seen = RepeatFilter(window_s=3.0)
    assert seen.fresh(QR, PICKUP, 0.0)
    assert not seen.fresh(QR, PICKUP, 1.0)
    assert not seen.fresh(QR, PICKUP, 3.9)  # 2.9 s since it was last seen
    assert seen.fresh(QR, PICKUP, 6.9)  # 3.0 s since
    assert not seen.fresh(QR, PICKUP, 7.0)


def test_codes_are_told_apart_by_symbology_and_payload() -> None:
    seen = RepeatFilter()
    assert seen.fresh(QR, PICKUP, 0.0)
    assert seen.fresh(QR, b"LK1:R:ABCDEF2345", 0.1)
    assert seen.fresh(Symbology.DATAMATRIX, PICKUP, 0.2)
    assert not seen.fresh(QR, PICKUP, 0.3)


def test_a_sighting_from_the_past_does_not_move_the_window_back() -> None:
    seen = RepeatFilter(window_s=3.0)
    assert seen.fresh(QR, PICKUP, 10.0)
    assert not seen.fresh(QR, PICKUP, 9.0)  # a frame from another camera's thread, delivered late
    assert not seen.fresh(QR, PICKUP, 12.5)
    assert seen.fresh(QR, PICKUP, 15.5)


def test_memory_stays_bounded_however_many_codes_pass() -> None:
    seen = RepeatFilter(window_s=3.0)
    most = 0
    for index in range(20_000):  # 100 distinct codes a second for 200 s
        assert seen.fresh(QR, b"code %d" % index, index / 100)
        most = max(most, len(seen))
    assert most <= 2 * 3 * 100 + 1  # at most two windows' worth of codes are remembered
    assert len(seen) <= most


def test_clear_forgets_every_code() -> None:
    seen = RepeatFilter()
    seen.fresh(QR, PICKUP, 0.0)
    seen.clear()
    assert len(seen) == 0
    assert seen.fresh(QR, PICKUP, 0.5)


@pytest.mark.parametrize("window_s", [0.0, -1.0, float("nan"), float("inf")])
def test_a_window_must_be_a_positive_number_of_seconds(window_s: float) -> None:
    with pytest.raises(ValueError, match="window_s"):
        RepeatFilter(window_s=window_s)


def test_threads_seeing_the_same_code_at_once_count_it_once() -> None:
    seen = RepeatFilter(window_s=3.0)
    threads_count, rounds = 8, 200
    start = threading.Barrier(threads_count)
    fresh_counts = [0] * threads_count

    def watch(index: int) -> None:
        start.wait(timeout=5)
        for round_ in range(rounds):
            # Every round is a new code, seen by all threads at the same instant.
            if seen.fresh(QR, b"round %d" % round_, round_ * 0.01):
                fresh_counts[index] += 1

    threads = [threading.Thread(target=watch, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sum(fresh_counts) == rounds
