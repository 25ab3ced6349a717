"""What each serving process starts and stops with its app."""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from contextlib import asynccontextmanager

from anyio import to_thread

from api.contract.spec_policy import OperationPolicy
from api.identity.password_checks import PASSWORD_CHECK_NICENESS, PasswordChecks
from api.identity.token_view import keep_current
from api.policies.rate_limits import RateLimiter
from api.process.logs import flush_access_log_every
from api.process.metrics import sample_pools_every
from api.process.pruning import prune_every
from api.process.services import Services
from api.runtime.handler_threads import HandlerThreads


def lifespan_of(services: Services, policies: dict[str, OperationPolicy],
                on_shutdown: Callable[[], None] | None = None):
    """The app's lifespan: it starts the threads that do the worker's
    database work (api/runtime/handler_threads.py) and sizes anyio's default pool,
    where Connexion runs error handlers (40 threads unless told), alike;
    starts the rate limiter, the access log's writes (api/process/logs.py) and the
    pruning of expired rows in this event loop, and yields what Starlette
    then puts on every request's `scope["state"]` (api.runtime.request_context). On
    PostgreSQL it also keeps the token view current (api.identity.token_view) and
    holds this process's claimant lock (api/policies/claimants.py).
    `on_shutdown` runs last, off the event loop (tracing's flush,
    api/process/tracing.py)."""
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_app):
        to_thread.current_default_thread_limiter().total_tokens = settings.handler_threads
        handler_threads = HandlerThreads(settings.handler_threads)
        # Niced: when reads and password checks both want the CPU, reads win.
        password_checks = PasswordChecks(
            services.passwords,
            HandlerThreads(settings.password_hash_threads, niceness=PASSWORD_CHECK_NICENESS),
            settings.password_hash_waiting)
        limiter = RateLimiter(policies, settings.rate_limit_storage_url,
                              settings.rate_limit_scale, settings.rate_limit_key_prefix,
                              settings.rate_limit_ipv6_prefix)
        tasks = [asyncio.create_task(work) for work in _background(services, handler_threads)]
        try:
            yield {"services": services, "rate_limiter": limiter,
                   "handler_threads": handler_threads, "password_checks": password_checks}
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            handler_threads.shutdown()
            password_checks.shutdown()
            if on_shutdown is not None:
                await to_thread.run_sync(on_shutdown)

    return lifespan


def _background(services: Services, handler_threads: HandlerThreads) -> list[Coroutine]:
    """What runs in the event loop for as long as the app does."""
    settings = services.settings
    work = [flush_access_log_every()]
    if settings.prune_interval_seconds:
        work.append(prune_every(services.database, settings.prune_interval_seconds,
                                handler_threads))
    if services.token_view is not None:
        work.append(keep_current(services.token_view, settings.database_url))
    if settings.metrics_enabled:
        work.append(sample_pools_every((services.database.engine, services.database.reads)))
    if services.claimants.on_postgres:
        work.append(services.claimants.hold_lock(settings.database_url))
    return work
