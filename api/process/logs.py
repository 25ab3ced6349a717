"""Logging: one configuration from LOG_LEVEL and LOG_FORMAT, for the
service's own lines and for the access lines of api/policies/access_log.py,
which go to stderr and to ACCESS_LOG when set. Access lines are JSON objects
whatever the format; LOG_FORMAT=json makes the service's own lines JSON
objects too (`JsonLines`), so that one pipeline reads both.

Access lines are written in batches: up to ACCESS_LINES_PER_WRITE of them, and
none later than ACCESS_FLUSH_SECONDS after it was logged (`flush_access_log_every`
runs in each worker's event loop) or than the worker's shutdown. A write gives
up the GIL, and the event loop then waits for a handler thread to hand it
back: one write per request cost the loop more than the line itself did
(docs/performance.md). A worker killed outright loses at most the lines of
its last ACCESS_FLUSH_SECONDS.
"""

import asyncio
import logging
import logging.config
import logging.handlers
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
from connexion.context import scope as request_scope

from api.policies.access_log import ACCESS_LOGGER

if TYPE_CHECKING:
    from api.runtime.config import Settings

ACCESS_LINES_PER_WRITE = 128
ACCESS_FLUSH_SECONDS = 0.5


def configure_logging(settings: "Settings") -> None:
    """Logging as LOG_LEVEL, LOG_FORMAT and ACCESS_LOG say: once per process,
    by whoever read the settings."""
    handlers, access_handlers = _handlers(settings.access_log)
    logging.captureWarnings(True)
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
            if settings.log_format == "text" else {"()": "api.process.logs.JsonLines"},
            "message": {"format": "%(message)s"},
        },
        "handlers": handlers,
        "loggers": _loggers(settings.log_level, access_handlers),
    })


def _handlers(access_log) -> tuple[dict, list[str]]:
    """Every handler, and those of the access lines: stderr, and ACCESS_LOG's file."""
    handlers = {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        "access_stderr": {"class": "logging.StreamHandler", "formatter": "message"},
        "access_stderr_lines": _batched("access_stderr"),
    }
    if not access_log:
        return handlers, ["access_stderr_lines"]
    handlers["access_file"] = {"class": "logging.FileHandler", "filename": str(access_log),
                               "formatter": "message"}
    handlers["access_file_lines"] = _batched("access_file")
    return handlers, ["access_stderr_lines", "access_file_lines"]


def _loggers(level: str, access_handlers: list[str]) -> dict:
    own = {"handlers": ["stderr"], "propagate": False}
    return {
        "api": {"level": level, **own},
        "alembic": {"level": "INFO", **own},
        # Python's warnings (a library's deprecation, SQLAlchemy's SAWarning),
        # as lines of this format rather than raw text.
        "py.warnings": {"level": "WARNING", **own},
        # The server's own lines (uvicorn is told to leave logging alone).
        "uvicorn": {"level": "INFO", **own},
        # Connexion narrates every security check at INFO: keep its warnings.
        "connexion": {"level": level if level == "DEBUG" else "WARNING", **own},
        # Logged on every login: its JSON and form bodies are both intended.
        "connexion.operations.openapi3": {"level": "ERROR"},
        ACCESS_LOGGER: {"level": "INFO", "handlers": access_handlers, "propagate": False},
    }


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the request
    id (and trace id) of the request being answered, when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        try:  # Connexion's context of the request this thread or task serves
            state = request_scope.get("state", {})
        except (RuntimeError, LookupError):  # none: a line of the process's own
            state = {}
        if "request_id" in state:
            line["request_id"] = state["request_id"]
        if "trace_id" in state:
            line["trace_id"] = state["trace_id"]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def _batched(target: str) -> dict:
    # Flushed by count, by `flush_access_log_every`, and when closed at exit.
    return {"class": "api.process.logs.LineBatches", "target": target,
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
