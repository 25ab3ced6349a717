"""What operators and their tools ask a serving process, outside the
contract and outside `/api/v1`: `/livez`, `/readyz` and `/metrics`.

Answered before everything else, so a probe or a scrape is never rate
limited, logged or counted as traffic, and `/livez` answers even when every
dependency is down:
- `/livez`: 200 while the event loop turns; nothing else is asked.
- `/readyz`: 200 when the database answers within a second, its schema is
  at the migrations' head (or a newer release's), and the rate limits' Redis (when one is set)
  answers; 503 when one does not, or once SIGTERM has been received (the
  load balancer takes the process out while it still serves). A worker
  runs one check at a time, on one connection of its own, and answers
  every probe for CHECKS_KEPT_SECONDS from its result: a flood of probes
  makes neither database sessions nor 503s. The body names each check's
  state to those who may read `/metrics`; anyone else learns ready or not.
- `/metrics`: Prometheus's text (api/process/metrics.py), when metrics are
  on, to loopback and METRICS_ALLOWED_IPS; anyone else's request goes on
  as any other and gets the 404 of a path the service does not know.
"""

import asyncio
import ipaddress
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
from sqlalchemy import create_engine, text

from api.process import migrate
from api.process.metrics import exposition
from api.runtime.draining import DRAINING

logger = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
# How long a check's result answers every probe (the shutdown is never kept).
CHECKS_KEPT_SECONDS = 1.0
PROBE_PATHS = ("/livez", "/readyz", "/metrics")


class Readiness:
    """The checks of `/readyz`, each bounded by CHECK_SECONDS. The database
    is asked on a connection of its own (not one of the handlers' pool: a
    busy pool is no reason to leave the load balancer), kept between checks,
    from two threads of its own: a database that hangs makes the check fail,
    never pile up. One check runs at a time; probes meanwhile, and for
    CHECKS_KEPT_SECONDS after, get its result."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        connect_args = {"connect_timeout": 2} if database_url.startswith("postgresql") else {}
        self.engine = create_engine(database_url, pool_size=1, max_overflow=0,
                                    pool_timeout=CHECK_SECONDS, pool_pre_ping=True,
                                    connect_args=connect_args, hide_parameters=True)
        self.threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readiness")
        self._migrations = None
        self._running: asyncio.Future | None = None
        self._kept: tuple[float, dict] | None = None

    async def checks(self, rate_limiter) -> dict[str, str]:
        """Every check's state: the dependencies' as last checked, the shutdown's now."""
        if self._kept is not None and time.monotonic() - self._kept[0] < CHECKS_KEPT_SECONDS:
            checks = self._kept[1]
        else:
            if self._running is None or self._running.done():
                self._running = asyncio.ensure_future(self._dependencies(rate_limiter))
                self._running.add_done_callback(self._keep)
            # Shielded: a probe that hangs up does not cancel the others' check.
            checks = await asyncio.shield(self._running)
        return {**checks,
                "shutdown": "stopping: SIGTERM received" if DRAINING.underway else "ok"}

    def _keep(self, check: asyncio.Future) -> None:
        if not check.cancelled() and check.exception() is None:
            self._kept = (time.monotonic(), check.result())

    async def _dependencies(self, rate_limiter) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        try:
            database, schema = await asyncio.wait_for(
                loop.run_in_executor(self.threads, self._database_and_schema), CHECK_SECONDS)
        except TimeoutError:
            database, schema = f"no answer within {CHECK_SECONDS:g} s", "unknown"
        checks = {"database": database, "schema": schema}
        if rate_limiter is not None and rate_limiter.storage_url:
            try:
                answers = await asyncio.wait_for(rate_limiter.storage_answers(), CHECK_SECONDS)
            except TimeoutError:
                answers = False
            checks["rate_limit_storage"] = "ok" if answers else "no answer"
        return checks

    def _database_and_schema(self) -> tuple[str, str]:
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(text("SELECT version_num FROM alembic_version"))
                current = {row[0] for row in rows}
        except Exception as exc:  # the class says enough; the message may hold the URL
            return f"unavailable ({exc.__class__.__name__})", "unknown"
        return "ok", self._schema_state(current)

    def _schema_state(self, current: set[str]) -> str:
        if self._migrations is None:
            self._migrations = migrate.script_directory(self.database_url)
        script = self._migrations
        heads = set(script.get_heads())
        if current == heads:
            return "ok"
        unknown = current - {rev.revision for rev in script.walk_revisions()}
        if unknown:
            # A newer release migrated it (`db upgrade` as a release step):
            # its migrations keep this code working, so this host stays in.
            return (f"ok (at {', '.join(sorted(unknown))}, newer than this release's "
                    "migrations)")
        pending = [rev for head in sorted(heads)
                   for rev in script.iterate_revisions(head, tuple(current) or "base")]
        names = ", ".join(f"{rev.revision} ({(rev.doc or '').strip()})" for rev in pending)
        return f"behind the migrations' head by {len(pending)}: {names} not applied"

    def close(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


class OperatorEndpoints:
    def __init__(self, app, database_url: str, metrics: bool,
                 metrics_allowed: tuple[str, ...] = ()) -> None:
        self.app = app
        self.readiness = Readiness(database_url)
        self.metrics = metrics
        self.metrics_allowed = tuple(ipaddress.ip_network(net, strict=False)
                                     for net in metrics_allowed)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in PROBE_PATHS:
            return await self.app(scope, receive, send)
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)  # a 405 or 404 as anywhere
        if path == "/livez":
            return await _answer(send, scope, 200, b'{"status":"ok"}', "application/json")
        if path == "/readyz":
            checks = await self.readiness.checks(scope.get("state", {}).get("rate_limiter"))
            ready = all(state.startswith("ok") for state in checks.values())
            answer = {"status": "ready" if ready else "not ready"}
            if self._may_scrape(scope):  # what is checked, and how it failed: operators only
                answer["checks"] = checks
            return await _answer(send, scope, 200 if ready else 503, orjson.dumps(answer),
                                 "application/json")
        if self.metrics and self._may_scrape(scope):
            text_, content_type = exposition()
            return await _answer(send, scope, 200, text_, content_type)
        # Anyone else: on, as any path the service does not know (a 404,
        # logged like any other).
        return await self.app(scope, receive, send)

    def _may_scrape(self, scope) -> bool:
        client = (scope.get("client") or ("",))[0]
        try:
            address = ipaddress.ip_address(client)
        except ValueError:  # a Unix socket, or no client
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return address.is_loopback or any(address in net for net in self.metrics_allowed)


async def _answer(send, scope, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
