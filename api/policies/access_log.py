"""One JSON line per request, and its request id.

The access line carries time, method, path, status, duration, request id,
the user id when a token named one, and the operationId of a deprecated
operation. It never carries a query string, a header or a body, so no token
or password can reach it. Where the lines go, and how they are batched, is
api/process/logs.py's.
"""

import itertools
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from starlette.datastructures import Headers, MutableHeaders

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
    """Outermost: gives each request its id, echoes it, and logs the request."""

    def __init__(self, app):
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.request_ids = RequestIds()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        if not ACCEPTABLE_REQUEST_ID.match(request_id):
            request_id = self.request_ids.next()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_request_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "method": scope["method"],
                "path": _excerpt(scope["path"]),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": request_id,
                "user_id": state.get("user_id"),
                "client": (scope.get("client") or ("-",))[0],
            }
            if "deprecated_operation" in state:  # who still calls it, for its sunset
                line["deprecated"] = state["deprecated_operation"]
            # json's own format, which log pipelines already read (and grep).
            self.logger.info(json.dumps(line))


def _excerpt(text: str) -> str:
    return text if len(text) <= LOGGED_PATH_CHARS else text[:LOGGED_PATH_CHARS] + "..."
