"""Logging: one configuration from LOG_LEVEL, and an access log line per request."""

import logging
import logging.config
import time

ACCESS_LOGGER = "stores_api.access"


def configure_logging(level: str, access_log: str | None) -> None:
    handlers = {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    }
    # Without ACCESS_LOG the server's own access log (uvicorn's) is enough.
    access_handlers = []
    if access_log:
        handlers["access_file"] = {
            "class": "logging.FileHandler",
            "filename": access_log,
            "formatter": "plain",
        }
        access_handlers.append("access_file")
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
            },
            "handlers": handlers,
            "loggers": {
                "api": {"level": level, "handlers": ["stderr"], "propagate": False},
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


class AccessLogMiddleware:
    """One line per HTTP request: client, method, path, status, duration."""

    def __init__(self, app):
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_with_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            client = (scope.get("client") or ("-",))[0]
            self.logger.info(
                '%s "%s %s" %d %.1fms',
                client,
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
