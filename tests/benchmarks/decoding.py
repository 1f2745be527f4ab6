"""Code decoding: read rate per decoder on the generated corpus, and decode time per frame.

- read rate per decoder, per distortion and per symbology, on the mild and the harsh corpus (hal.codes.corpus:
  336 generated 640x480 mild frames, 168 harsh); a read counts only when the exact payload came back. Each
  frame is decoded for the symbologies its screen asks for: a QR for PERSON_CODES (pickup, return, courier
  badge), a label code for LABEL_CODES.
- decode time per 640x480 and 1280x720 frame, QR-only (PERSON_CODES) and label symbologies (LABEL_CODES), per
  decoder, median and p95; and on frames with no code at all, which is what a kiosk camera mostly sees.

Targets: >= 98 % of the mild corpus read by the default decoder; QR-only 640x480 median <= 6 ms.

    uv run python tests/benchmarks/decoding.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hal.camera import Image  # noqa: E402
from hal.codes import DECODER_NAMES, DEFAULT_DECODER, LABEL_CODES, PERSON_CODES, Decoded, Symbology  # noqa: E402  # noqa: E402
from hal.codes.corpus import (  # noqa: E402
    ReadCount,
    Sample,
    corpus,
    empty_frames,
    overall,
    read_rate,
)
from hal.codes.decode import CodeDecoder, make_decoder  # noqa: E402
from hal.codes.distort import DISTORTIONS, LEVELS  # noqa: E402

Report = Callable[[str, list[float], str, str], None]
QR_ONLY = "QR-only"
LABEL = "label"
SIZES = ((640, 480), (1280, 720))
# Enough frames for stable medians while the whole bench stays under a minute with zbar's slow label scans.
HARSH_SAMPLES_PER_CELL = 3
LARGE_QR_SAMPLES_PER_CELL = 2
LARGE_LABEL_DISTORTIONS = ("clean", "blur", "glare", "noise")
EMPTY_FRAMES = 8


class TimedDecoder:
    """Passes every call on to a decoder and keeps how long each took, by what was asked."""

    def __init__(self, decoder: CodeDecoder) -> None:
        self.name = decoder.name
        self.symbologies = decoder.symbologies
        self._decoder = decoder
        self.milliseconds: dict[str, list[float]] = {QR_ONLY: [], LABEL: []}

    def decode(self, image: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        started = time.perf_counter()
        found = self._decoder.decode(image, symbologies)
        self.milliseconds[QR_ONLY if symbologies == PERSON_CODES else LABEL].append(
            (time.perf_counter() - started) * 1000)
        return found


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def print_report(name: str, values: list[float], unit: str, target: str) -> None:
    """The same line as tests/benchmarks/run.py's report(), for running this module alone."""
    print(f"{name:<44} median {statistics.median(values):8.2f} {unit:<3} p95 {percentile(values, 0.95):8.2f} "
          f"worst {max(values):8.2f} {unit:<3} (n={len(values)}; target {target})")


def _percent(count: ReadCount) -> str:
    return f"{100 * count.rate:5.1f}%"


def _read_rates(samples: dict[str, list[Sample]], decoders: dict[str, TimedDecoder],
                ) -> dict[tuple[str, str], dict[tuple[Symbology, str], ReadCount]]:
    return {(name, level): read_rate(decoder, samples[level])
            for level in LEVELS for name, decoder in decoders.items()}


def _print_rate_tables(rates: dict[tuple[str, str], dict[tuple[Symbology, str], ReadCount]]) -> None:
    names = DECODER_NAMES
    header = "".join(f"{name + ' ' + level:>14}" for name in names for level in LEVELS)
    for title, rows, pick in (
        ("distortion", DISTORTIONS, lambda key, row: key[1] == row),
        ("symbology", tuple(symbology.value for symbology in Symbology),
         lambda key, row: key[0].value == row),
    ):
        print(f"\nread rate by {title:<11}{header}")
        for row in rows:
            cells = []
            for name in names:
                for level in LEVELS:
                    counts = rates[(name, level)]
                    cells.append(_percent(sum((count for key, count in counts.items() if pick(key, row)),
                                              ReadCount(0, 0))))
            print(f"  {row:<22}" + "".join(f"{cell:>14}" for cell in cells))
    print()
    for name in names:
        for level in LEVELS:
            total = overall(rates[(name, level)])
            target = ">= 98 % (default decoder)" if level == "mild" else "none: shows where each gives up"
            default = " (default)" if name == DEFAULT_DECODER else ""
            print(f"read rate {name}{default} {level}: {100 * total.rate:5.1f} % "
                  f"({total.read}/{total.total}); target {target}")
    print()


def _time_frames(decoder: CodeDecoder, frames: list[Image], symbologies: frozenset[Symbology]) -> list[float]:
    times = []
    for frame in frames:
        started = time.perf_counter()
        decoder.decode(frame, symbologies)
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(report: Report) -> None:
    started = time.perf_counter()
    samples = {"mild": list(corpus("mild")),
               "harsh": list(corpus("harsh", samples_per_cell=HARSH_SAMPLES_PER_CELL))}
    decoders = {name: TimedDecoder(make_decoder(name)) for name in DECODER_NAMES}
    for decoder in decoders.values():  # the libraries set up on first use: keep that out of the figures
        decoder.decode(samples["mild"][0].image, LABEL_CODES)
        decoder.milliseconds = {QR_ONLY: [], LABEL: []}
    rates = _read_rates(samples, decoders)
    _print_rate_tables(rates)

    large_qr = [sample.image for sample in corpus("mild", frame_size=SIZES[1], symbologies=PERSON_CODES,
                                                  samples_per_cell=LARGE_QR_SAMPLES_PER_CELL)]
    label_symbologies = sorted(LABEL_CODES - PERSON_CODES, key=_order)
    large_labels = [sample.image for sample in corpus("mild", frame_size=SIZES[1], samples_per_cell=1,
                                                      symbologies=label_symbologies,
                                                      distortions=LARGE_LABEL_DISTORTIONS)]
    for name, decoder in decoders.items():
        for size in SIZES:
            size_text = f"{size[0]}x{size[1]}"
            if size == SIZES[0]:  # the read-rate runs above timed every 640x480 frame of both levels
                timed = decoder.milliseconds
            else:
                timed = {QR_ONLY: _time_frames(decoder, large_qr, PERSON_CODES),
                         LABEL: _time_frames(decoder, large_labels, LABEL_CODES)}
            empty = empty_frames(EMPTY_FRAMES, frame_size=size)
            qr_target = "median <= 6 ms" if size == SIZES[0] else "-"
            report(f"{name} {size_text} {QR_ONLY}", timed[QR_ONLY], "ms", qr_target)
            report(f"{name} {size_text} {LABEL}", timed[LABEL], "ms", "-")
            report(f"{name} {size_text} no code in view, {QR_ONLY}",
                   _time_frames(decoder, empty, PERSON_CODES), "ms", "-")
            report(f"{name} {size_text} no code in view, {LABEL}",
                   _time_frames(decoder, empty, LABEL_CODES), "ms", "-")
    print(f"(default decoder: {DEFAULT_DECODER}; QR-only: a QR frame decoded for {_names(PERSON_CODES)}; "
          f"label: a label frame decoded for {_names(LABEL_CODES)}; "
          f"decoding bench took {time.perf_counter() - started:.0f} s)")


def _order(symbology: Symbology) -> int:
    return list(Symbology).index(symbology)


def _names(symbologies: frozenset[Symbology]) -> str:
    return ", ".join(symbology.value for symbology in sorted(symbologies, key=_order))


if __name__ == "__main__":
    run(print_report)
