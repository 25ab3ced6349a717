"""Logging: one configuration from LOG_LEVEL, and one JSON line per request.

The access line carries time, method, path, status, duration, request id,
the user id when a token named one, and the operationId of a deprecated
operation; it goes to stderr and to ACCESS_LOG when
set. It never carries a query string, a header or a body, so no token or
password can reach it.

Access lines are written in batches: up to ACCESS_LINES_PER_WRITE of them, and
none later than ACCESS_FLUSH_SECONDS after it was logged (`flush_access_log_every`
runs in each worker's event loop) or than the worker's shutdown. A write gives
up the GIL, and the event loop then waits for a handler thread to hand it
back: one write per request cost the loop more than the line itself did
(docs/performance.md). A worker killed outright loses at most the lines of
its last ACCESS_FLUSH_SECONDS.
"""

import asyncio
import itertools
import json
import logging
import logging.config
import logging.handlers
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
ACCESS_LINES_PER_WRITE = 128
ACCESS_FLUSH_SECONDS = 0.5


def configure_logging(level: str, access_log: str | None) -> None:
    handlers = {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        "access_stderr": {"class": "logging.StreamHandler", "formatter": "message"},
    }
    access_handlers = ["access_stderr_lines"]
    handlers["access_stderr_lines"] = _batched("access_stderr")
    if access_log:
        handlers["access_file"] = {
            "class": "logging.FileHandler",
            "filename": access_log,
            "formatter": "message",
        }
        handlers["access_file_lines"] = _batched("access_file")
        access_handlers.append("access_file_lines")
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                "message": {"format": "%(message)s"},
            },
            "handlers": handlers,
            "loggers": {
                "api": {"level": level, "handlers": ["stderr"], "propagate": False},
                "alembic": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
                # Connexion narrates every security check at INFO: keep its warnings.
                "connexion": {
                    "level": level if level == "DEBUG" else "WARNING",
                    "handlers": ["stderr"],
                    "propagate": False,
                },
                # Logged on every login: its JSON and form bodies are both intended.
                "connexion.operations.openapi3": {"level": "ERROR"},
                ACCESS_LOGGER: {
                    "level": "INFO",
                    "handlers": access_handlers,
                    "propagate": False,
                },
            },
        }
    )


def _batched(target: str) -> dict:
    # Flushed by count, by `flush_access_log_every`, and when closed at exit.
    return {"class": "api.logs.LineBatches", "target": target,
            "capacity": ACCESS_LINES_PER_WRITE, "flushLevel": logging.ERROR}


class LineBatches(logging.handlers.MemoryHandler):
    """The standard library's MemoryHandler, but a flush hands its lines to the
    target's stream in one write: the base class emits them one by one, and a
    StreamHandler writes and flushes each."""

    def flush(self) -> None:
        with self.lock:
            records, self.buffer = self.buffer, []
        target = self.target
        if not records or target is None:
            return
        stream = getattr(target, "stream", None)
        if stream is None:  # not a StreamHandler, or a closed file: one by one, as logging does
            for record in records:
                target.handle(record)
            return
        text = "".join(target.format(record) + target.terminator for record in records)
        with target.lock:
            try:
                stream.write(text)
                stream.flush()
            except RecursionError:  # as StreamHandler.emit: never swallowed
                raise
            except Exception:
                target.handleError(records[0])


async def flush_access_log_every(seconds: float = ACCESS_FLUSH_SECONDS) -> None:
    """Write out the waiting access lines every `seconds`, and once more when
    cancelled at shutdown."""
    try:
        while True:
            await asyncio.sleep(seconds)
            flush_access_log()
    finally:
        flush_access_log()


def flush_access_log() -> None:
    for handler in logging.getLogger(ACCESS_LOGGER).handlers:
        handler.flush()


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
