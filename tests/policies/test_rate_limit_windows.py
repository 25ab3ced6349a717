"""Quotas counted in this process (api/policies/rate_limit_windows.py): `limits`' fixed
window, counted at a cost that does not grow with the number of callers."""

import pytest

from api.policies.rate_limit_windows import MAX_WINDOWS, LocalWindows

KEY = ("read", "ip:192.0.2.1")


class Clock:
    def __init__(self):
        self.now = 1_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_hits_count_down_and_the_one_past_the_limit_is_refused(clock):
    windows = LocalWindows(clock)
    counts = [windows.hit(KEY, 3, 60) for _ in range(3)]
    assert [(c.allowed, c.remaining, c.reset_seconds) for c in counts] == [
        (True, 2, 60), (True, 1, 60), (True, 0, 60)]
    clock.now += 20.5
    refused = windows.hit(KEY, 3, 60)
    assert (refused.allowed, refused.remaining, refused.reset_seconds) == (False, 0, 40)
    assert windows.hit(KEY, 3, 60).allowed is False  # refusals count too, as in `limits`


def test_a_window_opens_at_the_first_hit_and_a_new_one_after_it_ends(clock):
    windows = LocalWindows(clock)
    assert windows.hit(KEY, 1, 10).allowed
    assert not windows.hit(KEY, 1, 10).allowed
    clock.now += 10  # the window's end belongs to the next one
    again = windows.hit(KEY, 1, 10)
    assert (again.allowed, again.remaining, again.reset_seconds) == (True, 0, 10)


def test_callers_and_quotas_are_counted_apart(clock):
    windows = LocalWindows(clock)
    assert windows.hit(KEY, 1, 60).allowed
    assert windows.hit(("read", "ip:192.0.2.2"), 1, 60).allowed
    assert windows.hit(("write", "ip:192.0.2.1"), 1, 60).allowed
    assert not windows.hit(KEY, 1, 60).allowed


def test_peek_tells_what_the_next_hit_would_be_told_and_counts_nothing(clock):
    windows = LocalWindows(clock)
    fresh = windows.peek(KEY, 2, 60)
    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (True, 2, 0)
    assert len(windows) == 0
    windows.hit(KEY, 2, 60)
    clock.now += 1
    assert windows.peek(KEY, 2, 60).allowed and windows.peek(KEY, 2, 60).remaining == 1
    windows.hit(KEY, 2, 60)
    last = windows.peek(KEY, 2, 60)
    assert (last.allowed, last.remaining, last.reset_seconds) == (False, 0, 59)


def test_a_refund_takes_back_one_hit_of_an_open_window(clock):
    windows = LocalWindows(clock)
    windows.hit(KEY, 2, 60)
    windows.hit(KEY, 2, 60)
    assert not windows.hit(KEY, 2, 60).allowed
    windows.refund(KEY)
    windows.refund(KEY)
    assert windows.hit(KEY, 2, 60).remaining == 0
    clock.now += 61
    windows.refund(KEY)  # an ended window: nothing to take back
    assert len(windows) == 0


def test_expired_windows_go_so_memory_follows_the_callers_of_the_window(clock):
    windows = LocalWindows(clock)
    for n in range(20_000):
        windows.hit(("read", f"ip:{n}"), 5, 60)
        clock.now += 0.001
    assert len(windows) == 20_000
    clock.now += 50  # the first 10,000 windows, opened in the first 10 s, have ended
    windows.hit(KEY, 5, 60)
    assert len(windows) == 10_001
    clock.now += 10
    windows.refund(KEY)  # looking at the windows drops the ended ones
    assert len(windows) == 1


class NotToBeWalked(dict):
    def _walked(self, *_args):
        raise AssertionError("a hit walked every caller's window")

    __iter__ = keys = values = items = _walked


def test_a_hit_does_not_walk_every_callers_window(clock):
    # `limits`' in-memory storage walked every key on every hit: with 100,000
    # callers in a window, some 14 ms of the event loop per hit.
    windows = LocalWindows(clock)
    for n in range(20_000):
        windows.hit(("read", f"ip:{n}"), 5, 60)
    windows._windows = NotToBeWalked(windows._windows)
    for n in range(1_000):
        assert windows.hit(KEY, 5_000, 60).remaining == 5_000 - n - 1
        clock.now += 0.05
    assert windows.hit(("read", "ip:0"), 5, 60).remaining == 3
    clock.now += 60
    assert windows.hit(("read", "ip:0"), 5, 60).remaining == 4
    assert len(windows) == 1


def test_windows_of_different_lengths_end_each_in_their_time(clock):
    windows = LocalWindows(clock)
    windows.hit(("short", "a"), 1, 10)
    windows.hit(("long", "a"), 1, 60)
    clock.now += 10
    assert windows.hit(("short", "a"), 1, 10).allowed
    assert not windows.hit(("long", "a"), 1, 60).allowed
    assert len(windows) == 2


def test_a_fresh_window_never_says_more_seconds_than_it_lasts(clock):
    # A clock reading at which (now + 60) - now is 60.0000000000009 in floating
    # point: the first hit's reset read 61 (seen in CI, "t=61" on a 60 s quota).
    clock.now = 8161.962517661547
    assert LocalWindows(clock).hit(KEY, 5, 60).reset_seconds == 60


def test_past_the_bound_new_callers_share_one_window_and_no_count_is_forgotten(clock):
    windows = LocalWindows(clock, max_windows=100)
    for n in range(100):
        windows.hit(("register", f"ip:{n}"), 5, 3600)
    # Full: newcomers count together, 5 between them, and nobody's window is dropped.
    newcomers = [windows.hit(("register", f"ip:new{n}"), 5, 3600).allowed for n in range(5)]
    assert newcomers == [True] * 5
    assert windows.peek(("register", "ip:new99"), 5, 3600).allowed is False
    windows.refund(("register", "ip:new0"))  # given back where it was counted
    assert windows.hit(("register", "ip:new5"), 5, 3600).allowed is True
    assert windows.hit(("register", "ip:new6"), 5, 3600).allowed is False
    assert len(windows) == 101
    assert windows.hit(("register", "ip:0"), 5, 3600).remaining == 3  # its own count kept
    clock.now += 3600  # the windows end: room again, each caller its own
    assert windows.hit(("register", "ip:new0"), 5, 3600).remaining == 4
    assert len(windows) == 1


@pytest.mark.slow
def test_the_windows_of_the_bound_fit_in_tens_of_megabytes(clock):
    """MAX_WINDOWS callers of the hour-long register window, and as many
    again past the bound: the memory of the windows kept (documented in
    api/policies/rate_limit_windows.py)."""
    import tracemalloc

    tracemalloc.start()
    windows = LocalWindows(clock)
    for n in range(2 * MAX_WINDOWS):
        windows.hit(("register", f"ip:2001:db8:{n:x}::/64", 10, 3600), 10, 3600)
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(windows) == MAX_WINDOWS + 1
    assert size < 48 * 2**20, size
