"""The threads that do a worker's database work: the synchronous handlers,
the token checks that ask the database, the idempotency records and the
pruning. HANDLER_THREADS of them per worker process, started by the app's
lifespan; so a worker never holds more database connections than its
threads can use (docs/operations.md).

Connexion hands a synchronous handler to Starlette's `run_in_threadpool`,
that is anyio's `to_thread.run_sync`: for every call a cancel scope, a
capacity limiter, a run-variable lookup and a `queue.Queue`, whose Python
`Condition` wakes the thread. The standard library's executor is leaner but
still builds, per call, a `concurrent.futures.Future` (a Python `Condition`
of its own), a work item, an asyncio future chained to it by callbacks on
both sides and a shield around that. Here a call is one small object: it
waits in a `queue.SimpleQueue` (written in C), and the thread that ran it
hands the outcome to the caller's asyncio future with one
`call_soon_threadsafe` (docs/performance.md measures the difference).

What anyio guaranteed is kept: the call runs in a copy of the caller's
context, a StopIteration comes back as a RuntimeError (an asyncio future
cannot carry it), and a cancelled caller waits until the call has ended, so
that nothing it started (a session, an idempotency claim, a prune) outlives
it half-done.
"""

import asyncio
import contextvars
import os
import queue
import threading

_STOP = None  # what a thread takes from the queue as its signal to end


class HandlerThreads:
    def __init__(self, count: int, niceness: int = 0) -> None:
        """`niceness`: added to each thread's scheduling niceness (Linux
        schedules threads alone): work that may wait for the others'."""
        self.count = count
        self.niceness = niceness
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._stopped = False
        # Daemon threads (an executor's are joined at exit): the lifespan
        # stops them once the server has finished its requests, so none is
        # running a call when the process exits.
        self._threads = [threading.Thread(target=self._serve, name=f"handler_{n}", daemon=True)
                         for n in range(count)]
        for thread in self._threads:
            thread.start()

    async def run(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` in one of the threads, in a copy of
        this context (the request's, and the handler's session, live there)."""
        if self._stopped:
            raise RuntimeError("the handler threads have been shut down")
        call = _Call(asyncio.get_running_loop(), function, args, kwargs)
        self._calls.put(call)
        try:
            return await call.outcome
        except asyncio.CancelledError:
            # The outcome's future is cancelled, the call is not: wait it out.
            if not call.ended:
                call.end_seen = call.loop.create_future()
                while not call.end_seen.done():
                    try:
                        await asyncio.wait([call.end_seen])
                    except asyncio.CancelledError:
                        pass
            raise
        finally:
            # A handler's error leaves here with a traceback that holds this
            # frame: without this, the frame, the call, its future and the
            # error would form a cycle that only the garbage collector frees.
            del call

    def shutdown(self) -> None:
        # By the end of the lifespan the server has finished its requests and
        # the lifespan's tasks have seen their calls end: nothing is running.
        self._stopped = True
        for _ in self._threads:
            self._calls.put(_STOP)

    def _serve(self) -> None:
        if self.niceness and hasattr(os, "setpriority"):
            # On Linux PRIO_PROCESS with a thread's id sets that thread's alone.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           os.getpriority(os.PRIO_PROCESS, 0) + self.niceness)
        while (call := self._calls.get()) is not _STOP:
            call.run()
            del call  # the outcome belongs to the caller: hold nothing while idle


class _Call:
    __slots__ = ("loop", "context", "function", "args", "kwargs", "outcome", "ended",
                 "end_seen")

    def __init__(self, loop: asyncio.AbstractEventLoop, function, args: tuple, kwargs: dict):
        self.loop = loop
        self.context = contextvars.copy_context()
        self.function, self.args, self.kwargs = function, args, kwargs
        self.outcome = loop.create_future()
        self.ended = False
        self.end_seen = None  # a future, once a cancelled caller waits for the end

    def run(self) -> None:
        """In a handler thread: the call, then its outcome to the event loop."""
        result = error = None
        try:
            result = self.context.run(self.function, *self.args, **self.kwargs)
        except StopIteration as exc:
            error = RuntimeError("the call raised StopIteration")
            error.__cause__ = exc
        except BaseException as exc:  # the caller's to raise, as an executor's
            error = exc
        try:
            self.loop.call_soon_threadsafe(self._settle, result, error)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more
        # The same cycle, through this frame (concurrent.futures breaks it so).
        self = result = error = None

    def _settle(self, result, error) -> None:
        """On the event loop: the caller's future gets the outcome, unless
        the caller was cancelled, which is then told that the call ended."""
        self.ended = True
        if self.end_seen is not None:
            self.end_seen.set_result(None)
        if self.outcome.cancelled():
            if error is not None:  # nobody will raise it: reported as asyncio reports one
                self.loop.call_exception_handler({
                    "message": "a handler call failed after its caller was cancelled",
                    "exception": error})
        elif error is None:
            self.outcome.set_result(result)
        else:
            self.outcome.set_exception(error)
