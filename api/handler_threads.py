"""The threads that do a worker's database work: the synchronous handlers,
the token checks that ask the database, the idempotency records and the
pruning. HANDLER_THREADS of them per worker process, started by the app's
lifespan; so a worker never holds more database connections than its
threads can use (docs/operations.md).

Connexion hands a synchronous handler to Starlette's `run_in_threadpool`,
that is anyio's `to_thread.run_sync`: for every call a cancel scope, a
capacity limiter, a run-variable lookup and a `queue.Queue`, whose Python
`Condition` wakes the thread. The standard library's executor makes the same
hop, there and back, through queues and locks written in C (what it saves:
docs/performance.md). What anyio guaranteed is kept: the call runs in a copy
of the caller's context, a StopIteration comes back as a RuntimeError (an
asyncio future cannot carry it), and a cancelled caller waits until the call
has ended, so that nothing it started (a session, an idempotency claim, a
prune) outlives it half-done.

A handler that needs the event loop (the failure quotas of
api/rate_limits.py) reaches it with the loop's anyio token, kept here.
"""

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

from anyio.lowlevel import EventLoopToken


class HandlerThreads:
    def __init__(self, count: int, loop_token: EventLoopToken) -> None:
        self.executor = ThreadPoolExecutor(count, thread_name_prefix="handler")
        self.loop_token = loop_token

    async def run(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` in one of the threads, in a copy of
        this context (the request's, and the handler's session, live there)."""
        future = asyncio.get_running_loop().run_in_executor(
            self.executor, _call, contextvars.copy_context(), function, args, kwargs)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                try:
                    await asyncio.wait([future])
                except asyncio.CancelledError:
                    pass
            raise

    def shutdown(self) -> None:
        # By the end of the lifespan the server has finished its requests and
        # the lifespan's tasks have seen their calls end: nothing is running.
        self.executor.shutdown(wait=False)


def _call(context: contextvars.Context, function, args: tuple, kwargs: dict):
    try:
        return context.run(function, *args, **kwargs)
    except StopIteration as exc:
        raise RuntimeError("the call raised StopIteration") from exc
