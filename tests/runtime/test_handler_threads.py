"""A worker's threads and database pools: as many threads as HANDLER_THREADS,
a session per handler call, and a pool of its own for the token lookups.
The handler threads themselves (api/runtime/handler_threads.py): as many at once as
asked, the caller's context carried over, a handler's outcome carried back."""

import asyncio
import contextvars
import gc
import os
import threading
import time

import pytest
from anyio import to_thread

from api.runtime.handler_threads import HandlerThreads
from tests.conftest import API, needs_postgres

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


def _pool_size() -> int:
    return to_thread.current_default_thread_limiter().total_tokens


def test_the_thread_pools_have_handler_threads_threads(app_with, monkeypatch):
    from connexion.context import scope

    import api.health

    app = app_with(handler_threads=3)
    pools = []
    db = api.health.db
    monkeypatch.setattr(api.health, "db", lambda: pools.append(
        scope["state"]["handler_threads"]) or db())
    with app.test_client() as client:  # runs the app's lifespan, as a server does
        assert client.portal.call(_pool_size) == 3
        assert app.services.database.engine.pool.size() == 3
        assert client.get(f"{API}/health").status_code == 200
    assert [pool.count for pool in pools] == [3]


def test_every_handler_call_closes_its_session_however_it_ends(client, auth, store, services):
    pools = {services.database.engine.pool, services.database.reads.pool}
    for _ in range(3):
        assert client.get(f"{API}/stores/{store['id']}", headers=auth).status_code == 200
        assert client.get(f"{API}/stores/999999", headers=auth).status_code == 404
        taken = client.post(f"{API}/stores", headers=auth, json={"name": store["name"]})
        assert taken.status_code == 409
    assert [pool.checkedout() for pool in pools] == [0] * len(pools)


@needs_postgres
def test_the_token_lookup_reads_in_autocommit_apart_from_transactions(client, auth, services):
    # One statement, no BEGIN and ROLLBACK around it, and no isolation level
    # switched there and back on a connection that the transactions share
    # (the pool of reads also serves GET handlers: tests/api/test_reads.py).
    assert client.get(f"{API}/users/me", headers=auth).status_code == 200
    lookups, sessions = services.database.reads, services.database.engine
    assert lookups.pool is not sessions.pool
    with lookups.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is True
    with sessions.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False


def test_at_most_count_calls_run_at_once():
    running, most = 0, 0
    lock = threading.Lock()

    def work():
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main():
        threads = HandlerThreads(3)
        try:
            await asyncio.wait_for(asyncio.gather(*(threads.run(work) for _ in range(9))), 30)
        finally:
            threads.shutdown()

    asyncio.run(main())
    assert most == 3


def test_a_call_sees_the_callers_context_and_its_changes_stay_there():
    def work(suffix, *, twice):
        seen = request_id.get()
        request_id.set("changed in the thread")
        return threading.current_thread().name, seen * (2 if twice else 1) + suffix

    async def main():
        threads = HandlerThreads(1)
        request_id.set("r1")
        try:
            name, seen = await threads.run(work, "!", twice=True)
        finally:
            threads.shutdown()
        return name, seen, request_id.get()

    name, seen, after = asyncio.run(main())
    assert name.startswith("handler")
    assert seen == "r1r1!"
    assert after == "r1"


def test_a_handlers_exception_reaches_the_caller():
    def fail():
        raise LookupError("from the thread")

    async def main():
        threads = HandlerThreads(1)
        try:
            await threads.run(fail)
        finally:
            threads.shutdown()

    with pytest.raises(LookupError, match="from the thread"):
        asyncio.run(main())


def test_after_shutdown_no_call_is_taken():
    async def main():
        threads = HandlerThreads(1)
        threads.shutdown()
        await threads.run(time.time)

    with pytest.raises(RuntimeError):
        asyncio.run(main())


def test_a_stop_iteration_comes_back_as_a_runtime_error_not_a_hang():
    # An asyncio future refuses StopIteration: the caller would wait forever.
    def stray_next():
        return next(iter(()))

    async def main():
        threads = HandlerThreads(1)
        try:
            await asyncio.wait_for(threads.run(stray_next), 10)
        finally:
            threads.shutdown()

    with pytest.raises(RuntimeError, match="StopIteration"):
        asyncio.run(main())


def test_a_cancelled_caller_waits_until_its_call_has_ended_queued_or_running():
    ended = []

    def work(name):
        time.sleep(0.2)
        ended.append(name)

    async def main():
        threads = HandlerThreads(1)
        running = asyncio.ensure_future(threads.run(work, "running"))
        queued = asyncio.ensure_future(threads.run(work, "queued"))
        await asyncio.sleep(0.05)
        running.cancel()
        queued.cancel()
        seen = []
        for task in (running, queued):
            with pytest.raises(asyncio.CancelledError):
                await task
            seen.append(list(ended))
        threads.shutdown()
        return seen

    assert asyncio.run(main()) == [["running"], ["running", "queued"]]


def test_shutdown_ends_every_thread_once_the_queued_calls_have_run():
    ran = []
    before = set(threading.enumerate())

    async def main():
        threads = HandlerThreads(2)
        started = set(threading.enumerate()) - before
        calls = [asyncio.ensure_future(threads.run(time.sleep, 0.05)) for _ in range(4)]
        await asyncio.sleep(0)  # the calls are queued
        threads.shutdown()
        ran.extend(await asyncio.wait_for(asyncio.gather(*calls), 30))
        return started

    started = asyncio.run(main())
    assert len(started) == 2
    for thread in started:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in started)
    assert ran == [None] * 4


class _Refusal(Exception):
    pass


def test_a_calls_error_is_freed_without_the_garbage_collector():
    # A handler's error (every 404) would otherwise sit in a cycle with the
    # call, its future and the frames its traceback holds until a collection.
    def refuse():
        raise _Refusal

    async def main():
        threads = HandlerThreads(1)
        try:
            with pytest.raises(_Refusal):
                await threads.run(refuse)
        finally:
            threads.shutdown()

    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        asyncio.run(main())
        gc.collect()
        kept = [o for o in gc.garbage if isinstance(o, _Refusal)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert kept == []


def test_the_error_of_a_call_whose_caller_was_cancelled_is_reported_not_lost():
    def fail_later():
        time.sleep(0.2)
        raise LookupError("after the caller left")

    reported = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reported.append(context))
        threads = HandlerThreads(1)
        caller = asyncio.ensure_future(threads.run(fail_later))
        await asyncio.sleep(0.05)
        caller.cancel()
        try:
            with pytest.raises(asyncio.CancelledError):
                await caller
        finally:
            threads.shutdown()

    asyncio.run(main())
    assert [type(context["exception"]) for context in reported] == [LookupError]
    assert "cancelled" in reported[0]["message"]


def test_niced_threads_run_their_calls_at_a_lower_priority():
    # The password checks' threads: a check waits for reads, not the reverse.
    def niceness():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    async def main():
        plain, niced = HandlerThreads(1), HandlerThreads(1, niceness=10)
        try:
            return await plain.run(niceness), await niced.run(niceness)
        finally:
            plain.shutdown()
            niced.shutdown()

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert asyncio.run(main()) == (ours, min(19, ours + 10))
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours  # ours untouched
