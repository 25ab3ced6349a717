"""Fixed windows counted in this process's memory, where quotas are counted
when no Redis is configured, or while it is away (api/policies/rate_limits.py).

The counting is that of the `limits` package's fixed window: a caller's
window opens at its first hit and lasts the quota's window; every hit counts,
allowed or not; a hit is allowed while the count, this hit included, is
within the limit. `limits`' in-memory storage, though, schedules a task on
every hit that walks every key it holds: with 10,000 callers in a window a
hit cost about 0.7 ms of the event loop, with 100,000 about 14 ms, a price
any caller with many addresses could set.

Here windows of one length open in the order they end (the clock is
monotonic), so each length keeps its windows in a queue, and a hit drops
the expired ones from its front: each window is looked at once when it
opens and once when it goes, however many callers there are. Memory follows
the callers of the last window: at most one entry per request counted in it
(the spec's windows are a minute long; `register`'s an hour).

At most MAX_WINDOWS windows are kept: about 40 MB, which 100,000 callers of
an hour's window (one register from each of 100,000 addresses) would
otherwise take for that hour. Past it, a caller with no window yet counts in
one window its quota keeps for all such callers (`OVERFLOW`) until windows
end and make room: memory stays bounded, no caller's count is forgotten
(which would give back its budget), and new callers share one budget,
refused sooner rather than never counted.

Single-threaded by design: only the event loop counts.
"""

import math
import time
from collections import deque
from dataclasses import dataclass

MAX_WINDOWS = 100_000
# Who a hit counts as when the windows are full and the caller has none.
OVERFLOW = "(every caller past the windows kept)"


@dataclass
class Window:
    ends_at: float
    count: int = 0


@dataclass(frozen=True)
class Count:
    allowed: bool
    remaining: int
    reset_seconds: int


class LocalWindows:
    def __init__(self, clock=time.monotonic, max_windows: int = MAX_WINDOWS) -> None:
        self._clock = clock
        self._max_windows = max_windows
        self._windows: dict[tuple, Window] = {}
        # Per window length, (window, key) in the order they opened and end.
        self._ending: dict[int, deque[tuple[Window, tuple]]] = {}

    def hit(self, key: tuple, limit: int, window_seconds: int) -> Count:
        """Count one hit of `key` (quota, who, limit, window) against `limit`
        per `window_seconds`."""
        now = self._clock()
        window = self._current(key, now)
        if window is None and len(self._windows) >= self._max_windows:
            key = _overflow(key)
            window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = Window(now + window_seconds)
            self._ending.setdefault(window_seconds, deque()).append((window, key))
        window.count += 1
        return self._verdict(window, limit, now, allowed=window.count <= limit)

    def refund(self, key: tuple) -> None:
        """Take back one hit of `key`, if its window (or its quota's overflow
        window, where it was counted) is still open."""
        window = self._current(key, self._clock()) or self._windows.get(_overflow(key))
        if window is not None and window.count > 0:
            window.count -= 1

    def peek(self, key: tuple, limit: int, window_seconds: int) -> Count:
        """What the next hit of `key` would be told, counting nothing."""
        now = self._clock()
        window = self._current(key, now)
        if window is None and len(self._windows) >= self._max_windows:
            window = self._windows.get(_overflow(key))
        window = window or Window(now)  # none open: resets now
        return self._verdict(window, limit, now, allowed=window.count < limit)

    def __len__(self) -> int:
        return len(self._windows)

    def _current(self, key: tuple, now: float) -> Window | None:
        self._drop_expired(now)
        return self._windows.get(key)

    def _drop_expired(self, now: float) -> None:
        for ending in self._ending.values():
            while ending and now >= ending[0][0].ends_at:
                window, key = ending.popleft()
                if self._windows.get(key) is window:  # not reopened since
                    del self._windows[key]

    @staticmethod
    def _verdict(window: Window, limit: int, now: float, *, allowed: bool) -> Count:
        # Rounded to the microsecond first: (now + 60) - now can come out as
        # 60.0000000000009, which a ceiling would make a 61 s window.
        return Count(allowed, max(0, limit - window.count),
                     max(0, math.ceil(round(window.ends_at - now, 6))))


def _overflow(key: tuple) -> tuple:
    quota, _who, *rest = key
    return (quota, OVERFLOW, *rest)
