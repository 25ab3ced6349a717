"""Fixed windows counted in this process's memory, where quotas are counted
when no Redis is configured, or while it is away (api/rate_limits.py).

The counting is that of the `limits` package's fixed window: a caller's
window opens at its first hit and lasts the quota's window; every hit counts,
allowed or not; a hit is allowed while the count, this hit included, is
within the limit. `limits`' in-memory storage, though, schedules a task on
every hit that walks every key it holds: with 10,000 callers in a window a
hit cost about 0.7 ms of the event loop, with 100,000 about 14 ms, a price
any caller with many addresses could set. Here expired windows are swept
at most once a second, and a hit costs the same however many callers there
are. Memory follows the callers of the last window: at most one entry per
request counted in it (the spec's windows are a minute long).

Single-threaded by design: the event loop counts, and handler threads reach
it through the loop (api/rate_limits.py's FailureBudget).
"""

import math
import time
from dataclasses import dataclass

SWEEP_EVERY_SECONDS = 1.0


@dataclass
class Window:
    ends_at: float
    count: int


@dataclass(frozen=True)
class Count:
    allowed: bool
    remaining: int
    reset_seconds: int


class LocalWindows:
    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._windows: dict[tuple, Window] = {}
        self._next_sweep = 0.0

    def hit(self, key: tuple, limit: int, window_seconds: int) -> Count:
        """Count one hit of `key` against `limit` per `window_seconds`."""
        now = self._clock()
        window = self._current(key, now)
        if window is None:
            window = self._windows[key] = Window(now + window_seconds, 0)
        window.count += 1
        return self._verdict(window, limit, now, allowed=window.count <= limit)

    def peek(self, key: tuple, limit: int, window_seconds: int) -> Count:
        """What the next hit of `key` would be told, counting nothing."""
        now = self._clock()
        window = self._current(key, now) or Window(now, 0)  # none open: resets now
        return self._verdict(window, limit, now, allowed=window.count < limit)

    def __len__(self) -> int:
        return len(self._windows)

    def _current(self, key: tuple, now: float) -> Window | None:
        if now >= self._next_sweep:
            self._sweep(now)
        window = self._windows.get(key)
        if window is not None and now >= window.ends_at:
            del self._windows[key]
            return None
        return window

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for key in [key for key, window in self._windows.items() if now >= window.ends_at]:
            del self._windows[key]

    @staticmethod
    def _verdict(window: Window, limit: int, now: float, *, allowed: bool) -> Count:
        return Count(allowed, max(0, limit - window.count),
                     max(0, math.ceil(window.ends_at - now)))
