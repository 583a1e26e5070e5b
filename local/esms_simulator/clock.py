"""The simulator's clock: real time plus an offset that only moves forward.

A scheduled call (SendDate) waits on this clock, so moving it forward (``POST
/_simulator/clock``) lets a call booked for tomorrow play out now. Only the simulated provider
lives on it: the functions, DynamoDB and the callbacks' receiver keep the real time.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# How often a waiting call looks at its cancel event while the clock stands still.
_WAKE_SECONDS = 0.2


def parse_duration(value: str | float | int) -> float:
    """Seconds of ``90``, ``"90"``, ``"+1d"``, ``"2h30m"``; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as 1d, 2h30m, 90s")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lstrip("+").replace(" ", "")
        if text.startswith("-"):
            raise ValueError("the simulator's clock only moves forward")
        try:
            seconds = float(text)
        except ValueError:
            pieces = _DURATION.findall(text)
            if not pieces or "".join(n + u for n, u in pieces) != text:
                raise ValueError(
                    f"not a duration: {value!r} (use seconds, or e.g. 1d, 2h30m, 90s)"
                ) from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in pieces)
    if seconds < 0:
        raise ValueError("the simulator's clock only moves forward")
    return seconds


class SimulatorClock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = offset_seconds
        self._moved = threading.Condition()

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> float:
        """Epoch seconds on the simulator's clock."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulator's clock only moves forward")
        with self._moved:
            self._offset += seconds
            self._moved.notify_all()

    def advance_to(self, moment: datetime) -> None:
        """Move to ``moment`` (an aware datetime); refused when it is behind the clock."""
        if moment.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2026-12-02T09:00:00+07:00")
        target = moment.timestamp()
        if target < self.now():
            raise ValueError("the simulator's clock only moves forward")
        self.advance(target - self.now())

    def reset(self, offset_seconds: float) -> None:
        with self._moved:
            self._offset = offset_seconds
            self._moved.notify_all()

    def wait_until(self, epoch: float, cancel: threading.Event) -> bool:
        """Block until the clock reads ``epoch``: True, or False once ``cancel`` is set."""
        while not cancel.is_set():
            remaining = epoch - self.now()
            if remaining <= 0:
                return True
            with self._moved:
                self._moved.wait(min(remaining, _WAKE_SECONDS))
        return False

    def to_dict(self) -> dict[str, object]:
        now = self.now()
        return {
            "now": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            "offset_seconds": round(self._offset, 3),
        }
