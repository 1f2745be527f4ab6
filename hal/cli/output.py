"""How the technician CLI speaks: readable lines, or one JSON object per line with --json."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any, TextIO

PROG = "locker-hal"


def wall_clock(monotonic_at: float | None = None) -> datetime:
    """The local wall-clock time of a time.monotonic() reading (now when None)."""
    now = time.time()
    if monotonic_at is None:
        return datetime.fromtimestamp(now).astimezone()
    return datetime.fromtimestamp(now - (time.monotonic() - monotonic_at)).astimezone()


def plain_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def json_time(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def numbers(values: list[int]) -> str:
    return ", ".join(str(value) for value in values) if values else "none"


class Output:
    """Writes either the readable text or the JSON record of each message, flushed at once (a script or a test
    reading the lines must see each as it happens)."""

    def __init__(self, *, json_mode: bool, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self._out = out
        self._err = err

    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err if self._err is not None else sys.stderr

    def say(self, text: str | None, record: dict[str, Any] | None = None) -> None:
        """`text` in plain mode, `record` as one JSON line in --json mode; either may be None (nothing)."""
        if self.json_mode:
            if record is not None:
                print(json.dumps(record), file=self.out, flush=True)
        elif text is not None:
            print(text, file=self.out, flush=True)

    def fail(self, code: int, message: str, *, error: str = "failed") -> int:
        """One line on stderr (and, with --json, {"error": ..., "message": ...} on stdout); returns `code`."""
        if self.json_mode:
            print(json.dumps({"error": error, "message": message}), file=self.out, flush=True)
        print(f"{PROG}: {message}", file=self.err, flush=True)
        return code
