"""The threads that do a worker's database work: the synchronous handlers,
the token checks that ask the database, the idempotency records and the
pruning. HANDLER_THREADS of them per worker process, started by the app's
lifespan; so a worker never holds more database connections than its
threads can use (docs/operations.md).

Connexion hands a synchronous handler to Starlette's `run_in_threadpool`,
that is anyio's `to_thread.run_sync`: for every call a cancel scope, a
capacity limiter, a run-variable lookup and a `queue.Queue`, whose Python
`Condition` wakes the thread. The standard library's executor makes the same
hop, there and back, through queues and locks written in C; the handler runs
in a copy of the request's context, as before (what it saves:
docs/performance.md).

A handler that needs the event loop (the failure quotas of
api/rate_limits.py) reaches it with the loop's anyio token, kept here.
"""

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor

from anyio.lowlevel import EventLoopToken


class HandlerThreads:
    def __init__(self, count: int, loop_token: EventLoopToken) -> None:
        self.executor = ThreadPoolExecutor(count, thread_name_prefix="handler")
        self.loop_token = loop_token

    async def run(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` in one of the threads, in a copy of
        this context (the request's, and the handler's session, live there)."""
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def shutdown(self) -> None:
        # The lifespan ends after the server has finished its requests; a call
        # still running finishes on its own, and the interpreter waits for it.
        self.executor.shutdown(wait=False)
