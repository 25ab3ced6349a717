"""One JSON line per request, its request id, and its metrics.

The access line carries time, level, method, path, status, duration,
request id, the operationId and route template of the operation that
answered, the user id when a token named one, the trace id when tracing is
on, and whether the operation is deprecated. It never carries a query
string, a header or a body, so no token or password can reach it. Where the
lines go, and how they are batched, is api/process/logs.py's.

With metrics on, the same measurement feeds the request histogram and the
gauge of requests in flight (api/runtime/metrics.py).
"""

import itertools
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from starlette.datastructures import Headers, MutableHeaders

from api.contract.spec_policy import OperationPolicy, routed_operation
from openapi import BASE_PATH

ACCESS_LOGGER = "stores_api.access"
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is kept when it is a plain token of reasonable length;
# anything else is replaced, so nobody can write arbitrary text into the logs.
ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Paths are the caller's text: a long one is cut, so it cannot flood the log.
LOGGED_PATH_CHARS = 200


class RequestIds:
    """Unique request ids without a system call per request: a random prefix
    per process (so per worker, after the fork) and a counter. `uuid4()` reads
    the system's random source each time, and gives up the GIL to do it."""

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex[:16]
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


class AccessLogMiddleware:
    """Outermost: gives each request its id, echoes it, logs the request and,
    with `metrics`, counts it."""

    def __init__(self, app, policies: dict[str, OperationPolicy], metrics: bool = False):
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.request_ids = RequestIds()
        # By the handler name Connexion routes to: (operationId, route template).
        self.operations = {handler: (policy.operation_id, BASE_PATH + policy.path)
                           for handler, policy in policies.items()}
        self.metrics = RequestMetrics() if metrics else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id = self._request_id(scope)
        # Connexion's routing names the operation in `extensions` of a copy
        # of the scope: a dict made here is shared with that copy, one made
        # there (uvicorn sends none) would be lost to this middleware.
        scope.setdefault("extensions", {})
        status = 500
        if self.metrics is not None:
            self.metrics.started()

        async def send_with_request_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            self._finished(scope, status, time.perf_counter() - started)

    def _request_id(self, scope) -> str:
        """The caller's X-Request-ID when it is one we accept, else a new one."""
        request_id = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        return request_id if ACCEPTABLE_REQUEST_ID.match(request_id) else self.request_ids.next()

    def _finished(self, scope, status: int, duration: float) -> None:
        """The request counted and its access line logged."""
        state = scope["state"]
        operation_id, route = self.operations.get(routed_operation(scope), (None, None))
        if self.metrics is not None:
            self.metrics.finished(operation_id, scope["method"], status, duration)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": "INFO",
            "method": scope["method"],
            "path": _excerpt(scope["path"]),
            "status": status,
            "duration_ms": round(duration * 1000, 2),
            "request_id": state["request_id"],
            "operation_id": operation_id,
            "route": route,
            "user_id": state.get("user_id"),
            "client": (scope.get("client") or ("-",))[0],
        }
        if "trace_id" in state:
            line["trace_id"] = state["trace_id"]
        if "deprecated_operation" in state:  # who still calls it, for its sunset
            line["deprecated"] = state["deprecated_operation"]
        # json's own format, which log pipelines already read (and grep).
        self.logger.info(json.dumps(line))


class RequestMetrics:
    """The request histogram and the gauge of requests in flight. Each
    (operation, method, status) child is looked up once: prometheus-client's
    `labels()` takes a lock and checks its arguments on every call."""

    def __init__(self) -> None:
        # Imported here, in the serving process: api/runtime/metrics.py says why.
        from api.runtime.metrics import (
            ACTIVE_REQUESTS,
            NO_OPERATION,
            REQUEST_DURATION,
            method_label,
        )

        self.method_label = method_label
        self.active = ACTIVE_REQUESTS
        self.no_operation = NO_OPERATION
        self.durations = REQUEST_DURATION
        self.children: dict[tuple, object] = {}

    def started(self) -> None:
        self.active.inc()

    def finished(self, operation_id: str | None, method: str, status: int,
                 seconds: float) -> None:
        self.active.dec()
        # Bounded: the spec's operations, HTTP's methods, three-digit statuses.
        key = (operation_id or self.no_operation, self.method_label(method), status)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.durations.labels(*key[:2], str(status))
        child.observe(seconds)


def _excerpt(text: str) -> str:
    return text if len(text) <= LOGGED_PATH_CHARS else text[:LOGGED_PATH_CHARS] + "..."
