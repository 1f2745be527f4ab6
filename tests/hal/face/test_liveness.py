"""Liveness from synthetic landmark streams: EAR, head pose, and the tracker's blink and movement rules."""

from __future__ import annotations

import math

import pytest

from hal.face.liveness import HeadPose, LivenessTracker, eye_aspect_ratio, head_pose

Eye = list[tuple[float, float]]


def eye(centre_x: float, opening: float, width: float = 30.0, centre_y: float = 100.0) -> Eye:
    """Six points of an eye `width` wide whose lids are `opening` apart at the middle."""
    half, third = width / 2, width / 6
    return [(centre_x - half, centre_y), (centre_x - third, centre_y - opening / 2),
            (centre_x + third, centre_y - opening / 2), (centre_x + half, centre_y),
            (centre_x + third, centre_y + opening / 2), (centre_x - third, centre_y + opening / 2)]


def face(opening: float = 9.0, roll_deg: float = 0.0,
         nose_dx: float = 0.0) -> dict[str, list[tuple[float, float]]]:
    marks: dict[str, list[tuple[float, float]]] = {
        "left_eye": eye(70, opening), "right_eye": eye(130, opening),
        "nose_tip": [(100 + nose_dx + dx, 150.0) for dx in (-8, -4, 0, 4, 8)],
    }
    angle = math.radians(roll_deg)
    return {name: [(100 + (x - 100) * math.cos(angle) - (y - 100) * math.sin(angle),
                     100 + (x - 100) * math.sin(angle) + (y - 100) * math.cos(angle)) for x, y in points]
            for name, points in marks.items()}


def test_eye_aspect_ratio_of_open_and_closed_eyes() -> None:
    assert eye_aspect_ratio(eye(0, 9.0)) == pytest.approx(0.3)
    assert eye_aspect_ratio(eye(0, 0.0)) == 0.0


NAN_EYE = [(0, 0), (1, 1), (2, 2), (3, float("nan")), (4, 4), (5, 5)]


@pytest.mark.parametrize("bad", [[(0, 0)] * 5, [(0, 0)] * 6, NAN_EYE])
def test_eye_aspect_ratio_refuses_what_is_not_an_eye(bad: Eye) -> None:
    with pytest.raises(ValueError, match="eye"):
        eye_aspect_ratio(bad)


def test_head_pose_reads_roll_and_yaw_independently() -> None:
    assert head_pose(face()) == HeadPose(pytest.approx(0.0), pytest.approx(0.0))  # type: ignore[arg-type]
    rolled = head_pose(face(roll_deg=5.0))
    assert rolled.roll_deg == pytest.approx(5.0) and rolled.yaw == pytest.approx(0.0, abs=1e-9)
    turned = head_pose(face(nose_dx=6.0, roll_deg=5.0))
    assert turned.yaw == pytest.approx(0.1) and turned.roll_deg == pytest.approx(5.0)


def test_head_pose_names_missing_landmarks() -> None:
    with pytest.raises(ValueError, match="nose_tip"):
        head_pose({"left_eye": eye(70, 9), "right_eye": eye(130, 9)})


def feed(tracker: LivenessTracker, openings: list[float], start: float = 0.0, step: float = 1 / 30,
         roll: list[float] | None = None) -> list[bool]:
    return [tracker.observe(face(opening, roll[k] if roll else 0.0), start + k * step).blinked
            for k, opening in enumerate(openings)]


def test_a_blink_is_open_closed_open() -> None:
    tracker = LivenessTracker()
    blinked = feed(tracker, [9.0] * 10 + [2.0] * 4 + [9.0] * 3)
    assert not any(blinked[:14]) and blinked[14]


def test_one_noisy_low_frame_is_not_a_blink() -> None:
    tracker = LivenessTracker()
    assert not any(feed(tracker, [9.0] * 10 + [2.0] + [9.0] * 10 + [2.0, 7.0, 2.0] + [9.0] * 5))


def test_closed_eyes_that_never_reopen_are_not_a_blink() -> None:
    assert not any(feed(LivenessTracker(), [9.0] * 10 + [2.0] * 20))


def test_closed_is_relative_to_this_faces_own_open_eyes() -> None:
    # Narrow eyes: open EAR 0.15, closed 0.07, below any fixed threshold people use for wide eyes.
    assert feed(LivenessTracker(), [4.5] * 10 + [2.0] * 3 + [4.5] * 2)[-1]
    # Wide eyes that only narrow a little are not a blink.
    assert not any(feed(LivenessTracker(), [12.0] * 10 + [10.0] * 5 + [12.0] * 5))


def test_irregular_slow_frames_still_see_a_blink() -> None:
    tracker = LivenessTracker()
    times = [0.0, 0.21, 0.38, 0.65, 0.80, 1.02, 1.15, 1.41]
    openings = [9.0, 9.0, 9.0, 9.0, 2.5, 2.0, 9.0, 9.0]
    statuses = [tracker.observe(face(o), at) for o, at in zip(openings, times, strict=True)]
    assert statuses[6].blinked


def test_a_blink_is_forgotten_after_the_window() -> None:
    tracker = LivenessTracker(window_s=2.0)
    assert feed(tracker, [9.0] * 10 + [2.0] * 4 + [9.0] * 3)[-1]
    assert tracker.observe(face(), 1.0).blinked  # still within 2 s
    assert not tracker.observe(face(), 2.6).blinked  # the closed frames (0.33-0.43 s) are now older than 2 s


def test_frames_out_of_order_are_ignored_and_reset_forgets() -> None:
    tracker = LivenessTracker()
    feed(tracker, [9.0] * 10 + [2.0] * 4 + [9.0] * 3)
    assert tracker.observe(face(2.0), 0.0).blinked
    tracker.reset()
    assert not tracker.observe(face(), 5.0).blinked


def test_movement_needs_more_than_landmark_noise() -> None:
    noise = [0.4 * math.sin(k * 1.7) for k in range(60)]  # +-0.4 degrees: a still's measured jitter
    tracker = LivenessTracker()
    assert not any(tracker.observe(face(9.0, r), k / 30).moved for k, r in enumerate(noise))
    turning = [3.0 * math.sin(2 * math.pi * k / 60) for k in range(60)]
    moving = LivenessTracker()
    statuses = [moving.observe(face(9.0, r), k / 30) for k, r in enumerate(turning)]
    assert statuses[-1].moved and not statuses[-1].live
    one_outlier = LivenessTracker()
    rolls = [0.0] * 30 + [8.0] + [0.0] * 30
    assert not any(one_outlier.observe(face(9.0, r), k / 30).moved for k, r in enumerate(rolls))


def test_live_needs_both() -> None:
    tracker = LivenessTracker()
    openings = [9.0] * 20 + [2.0] * 4 + [9.0] * 36
    rolls = [3.0 * math.sin(2 * math.pi * k / 60) for k in range(60)]
    statuses = [tracker.observe(face(opening, roll), k / 30)
                for k, (opening, roll) in enumerate(zip(openings, rolls, strict=True))]
    assert statuses[-1].live


@pytest.mark.parametrize("settings", [{"window_s": 0.0}, {"window_s": float("nan")}, {"min_closed_frames": 0},
                                      {"closed_fraction": 0.9, "open_fraction": 0.8}])
def test_bad_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LivenessTracker(**settings)  # type: ignore[arg-type]
