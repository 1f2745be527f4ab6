"""The keyboard-wedge burst detector: scanner bursts become scans, people's typing never does, and no key
is lost."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.wedge import Decision, Dropped, Scanned, Typed, WedgeBurstDetector

MAX_GAP = 0.03
MIN_LENGTH = 4
ENTER = "\n"
LATER = 1e9  # a poll long after everything: whatever is still held must come out

# What a wedge scanner types: printable text (no Enter inside); a few ms per key at most.
PAYLOADS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
                   min_size=MIN_LENGTH, max_size=300).filter(str.isprintable)
SCANNER_GAPS = st.floats(min_value=0.0, max_value=MAX_GAP * 0.9)
PERSON_GAPS = st.floats(min_value=MAX_GAP * 1.2, max_value=3.0)  # 35 ms and up: the fastest typists' pace
ROLLOVER_GAPS = st.floats(min_value=0.0, max_value=MAX_GAP)  # two keys struck together
KEYS = st.one_of(st.just(ENTER), st.characters(min_codepoint=0x20, max_codepoint=0x7E))


@dataclass(frozen=True)
class Key:
    """A token: which key, and its place in the input (so order and uniqueness can be checked)."""

    index: int
    text: str


def run(keys: list[tuple[str, float]], detector: WedgeBurstDetector[Key] | None = None,
        ) -> tuple[list[Decision[Key]], list[Key]]:
    """Feed (key, time) pairs as the WedgeFilter does, polling when a decision falls due; poll at the end."""
    detector = detector or WedgeBurstDetector(MAX_GAP, MIN_LENGTH)
    decisions: list[Decision[Key]] = []
    fed = []
    for index, (text, at) in enumerate(keys):
        deadline = detector.deadline()
        if deadline is not None and deadline < at:
            decisions += detector.poll(min(deadline + 0.005, at))  # the timer fires a little after it
        token = Key(index, text)
        fed.append(token)
        if text == ENTER:
            decisions += detector.feed_enter(at, token)
        else:
            decisions += detector.feed_char(text, at, token)
    decisions += detector.poll(LATER)
    assert detector.holding == 0 and detector.deadline() is None
    return decisions, fed


def timed(texts: list[str], gaps: list[float], start: float = 100.0) -> list[tuple[str, float]]:
    at, keys = start, []
    for text, gap in zip(texts, gaps, strict=True):
        at += gap
        keys.append((text, at))
    return keys


def scans(decisions: list[Decision[Key]]) -> list[str]:
    return [d.text for d in decisions if isinstance(d, Scanned)]


def handed_back(decisions: list[Decision[Key]]) -> list[Key]:
    return [token for d in decisions if isinstance(d, Scanned | Typed) for token in d.tokens]


@settings(max_examples=300, deadline=None)
@given(payload=PAYLOADS, data=st.data())
def test_a_scanner_burst_always_becomes_one_scan(payload: str, data: st.DataObject) -> None:
    gaps = data.draw(st.lists(SCANNER_GAPS, min_size=len(payload) + 1, max_size=len(payload) + 1))
    gaps[0] = 5.0  # nothing just before the scan
    decisions, fed = run(timed([*payload, ENTER], gaps))
    assert decisions == [Scanned(payload, tuple(fed))]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_people_typing_never_make_a_scan(data: st.DataObject) -> None:
    """Any keys, Enter included, at a person's pace; now and then two keys rolled over, never more."""
    texts = data.draw(st.lists(KEYS, min_size=1, max_size=60))
    gaps = []
    for index in range(len(texts)):
        rolled_over = index > 0 and gaps[-1] > MAX_GAP and data.draw(st.booleans())
        gaps.append(data.draw(ROLLOVER_GAPS if rolled_over else PERSON_GAPS))
    decisions, fed = run(timed(texts, gaps))
    assert scans(decisions) == []
    assert handed_back(decisions) == fed


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_every_key_comes_back_exactly_once_in_order(data: st.DataObject) -> None:
    """Scans and typing mixed at any pace: each key is in one scan or handed back as typing, in order."""
    texts = data.draw(st.lists(KEYS, min_size=1, max_size=120))
    gaps = data.draw(st.lists(st.one_of(SCANNER_GAPS, PERSON_GAPS), min_size=len(texts), max_size=len(texts)))
    decisions, fed = run(timed(texts, gaps))
    assert handed_back(decisions) == fed
    for decision in decisions:
        if isinstance(decision, Scanned):
            assert decision.tokens[-1].text == ENTER
            assert decision.text == "".join(token.text for token in decision.tokens[:-1])
            assert len(decision.text) >= MIN_LENGTH


def test_a_burst_typed_into_the_middle_of_slow_typing_is_cut_out_cleanly() -> None:
    keys = timed([*"12", *"ABCDEF", ENTER, *"34"], [1.0, 0.5, 0.5, *[0.004] * 6, 0.5, 0.5])
    decisions, _ = run(keys)
    assert scans(decisions) == ["ABCDEF"]
    typed = [token.text for d in decisions if isinstance(d, Typed) for token in d.tokens]
    assert typed == ["1", "2", "3", "4"]


def test_a_short_burst_or_one_without_enter_is_typing() -> None:
    short, _ = run(timed([*"123", ENTER], [1.0, 0.002, 0.002, 0.002]))
    assert scans(short) == []
    assert [token.text for token in handed_back(short)] == [*"123", ENTER]
    no_enter, _ = run(timed([*"ABCDEFGH"], [1.0, *[0.002] * 7]))
    assert scans(no_enter) == []
    assert [token.text for token in handed_back(no_enter)] == [*"ABCDEFGH"]


def test_an_enter_after_a_pause_does_not_finish_a_burst() -> None:
    decisions, _ = run(timed([*"ABCDEF", ENTER], [1.0, *[0.002] * 5, 0.2]))
    assert scans(decisions) == []


def test_nothing_is_decided_before_the_gap_has_passed() -> None:
    detector: WedgeBurstDetector[int] = WedgeBurstDetector(MAX_GAP, MIN_LENGTH)
    assert detector.feed_char("1", 10.0, 1) == []
    assert detector.deadline() == pytest.approx(10.0 + MAX_GAP)
    assert detector.poll(10.0 + MAX_GAP / 2) == []
    assert detector.holding == 1
    assert detector.poll(10.0 + MAX_GAP * 2) == [Typed((1,))]
    assert detector.deadline() is None


def test_an_endless_burst_is_dropped_not_buffered() -> None:
    detector: WedgeBurstDetector[int] = WedgeBurstDetector(MAX_GAP, MIN_LENGTH, max_length=100)
    decisions: list[Decision[int]] = []
    for index in range(1000):
        decisions += detector.feed_char("X", 1.0 + index * 0.001, index)
        assert detector.holding <= 100
    decisions += detector.feed_enter(2.0 + 0.001, 1000)
    assert decisions == [Dropped(101)]
    # The next scan, after a pause, is read as usual.
    for index, char in enumerate("ABCD"):
        decisions += detector.feed_char(char, 5.0 + index * 0.001, index)
    assert detector.feed_enter(5.01, 99) == [Scanned("ABCD", (0, 1, 2, 3, 99))]


def test_flush_hands_back_what_is_held() -> None:
    detector: WedgeBurstDetector[str] = WedgeBurstDetector(MAX_GAP, MIN_LENGTH)
    detector.feed_char("A", 1.0, "a")
    detector.feed_char("B", 1.001, "b")
    assert detector.held_tokens() == ("a", "b")
    assert detector.flush() == [Typed(("a", "b"))]
    assert detector.flush() == []


@pytest.mark.parametrize(("max_gap", "min_length", "max_length"), [(0, 4, 10), (0.03, 0, 10), (0.03, 5, 4)])
def test_nonsense_settings_are_refused(max_gap: float, min_length: int, max_length: int) -> None:
    with pytest.raises(ValueError, match="max_gap_s"):
        WedgeBurstDetector(max_gap, min_length, max_length)
