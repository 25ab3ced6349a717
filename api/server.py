"""Serving: uvicorn for one process, gunicorn with uvicorn workers for several."""

import math
import signal
import sys
import threading
from typing import TYPE_CHECKING

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger as GunicornLogger
from uvicorn import Server
from uvicorn_worker import UvicornWorker

if TYPE_CHECKING:
    from api.app import StoresApp
    from api.runtime.config import Settings

GRACEFUL_TIMEOUT_SECONDS = 30


# The settings `stores-api serve` read: this process's app's, and through
# the fork every gunicorn worker's. A process of uvicorn's reloader starts
# without them and reads its own (api/process/startup.py).
_settings: "Settings | None" = None


def serve_with(settings: "Settings") -> None:
    global _settings
    _settings = settings


def app_for_serving() -> "StoresApp":
    """The app a serving process runs: built, then its heap settled
    (api/process/heap.py). Each process builds its own: gunicorn's workers after the
    fork (the master never imports the app)."""
    from api.app import create_app
    from api.process.heap import settle_heap

    app = create_app(_settings)
    settle_heap()
    return app


# uvicorn's httptools protocol with bounds on the request head.
HTTP_PROTOCOL = "api.serving.bounded_head:BoundedHeadProtocol"


def uvicorn_options(trusted_proxies: tuple[str, ...]) -> dict:
    """What uvicorn is told in either setup: no banner naming the server,
    X-Forwarded-For / X-Forwarded-Proto believed only from TRUSTED_PROXIES
    (uvicorn believes 127.0.0.1 unless told otherwise), and the request head
    bounded in size and time (api/serving/bounded_head.py)."""
    return {
        "server_header": False,
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": list(trusted_proxies),
        "http": HTTP_PROTOCOL,
    }


class DrainingServer(Server):
    """uvicorn's server, but SIGTERM first makes `/readyz` answer 503 and
    goes on serving for `shutdown_delay` seconds, so that the load balancer
    takes this process out before it stops accepting; then it shuts down as
    uvicorn does (in-flight requests finish). SIGINT stops at once."""

    def __init__(self, config, shutdown_delay: float):
        super().__init__(config)
        self.shutdown_delay = shutdown_delay

    def handle_exit(self, sig, frame) -> None:
        if sig != signal.SIGTERM or not self.shutdown_delay:
            return super().handle_exit(sig, frame)
        from api.runtime.draining import DRAINING

        if DRAINING.underway:
            return  # a second SIGTERM changes nothing; SIGINT or SIGKILL do
        DRAINING.begin()
        # A timer thread: the handler must return at once, and uvicorn's main
        # loop looks at `should_exit` every tenth of a second.
        timer = threading.Timer(self.shutdown_delay, super().handle_exit, (sig, frame))
        timer.daemon = True
        timer.start()


def shutdown_delay() -> float:
    return _settings.shutdown_delay_seconds if _settings is not None else 0.0


class Worker(UvicornWorker):
    """uvicorn's gunicorn worker, without the `server` header, with the
    bounded request head, and draining on SIGTERM (DrainingServer); gunicorn
    passes it `forwarded_allow_ips`."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "server_header": False,
                     "http": HTTP_PROTOCOL}

    # UvicornWorker._serve (uvicorn-worker 0.4.0) with our server: the worker
    # has no seam for the server class. tests/test_connexion_seams.py fails
    # if an upgrade changes the method.
    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config, shutdown_delay=shutdown_delay())
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


class GunicornLines(GunicornLogger):
    """gunicorn's own lines (its master's, a worker's boot and exit) in the
    service's LOG_FORMAT: gunicorn sets its handlers up itself."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        from api.process.logs import json_lines_wanted

        formatter = json_lines_wanted(_settings.log_format if _settings else "text")
        if formatter is not None:
            for handler in self.error_log.handlers:
                handler.setFormatter(formatter)


class GunicornServer(BaseApplication):
    """gunicorn as a library: the master forks `workers` uvicorn workers, each of
    which builds its own app (its own engine and pool) after the fork."""

    def __init__(self, host: str, port: int, workers: int, trusted_proxies: tuple[str, ...],
                 metrics_shared: bool = False):
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "api.server.Worker",
            "forwarded_allow_ips": ",".join(trusted_proxies),
            # SIGTERM: each worker serves on for SHUTDOWN_DELAY_SECONDS, stops
            # accepting, lets in-flight requests finish, then exits.
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS + math.ceil(shutdown_delay()),
            "accesslog": None,  # the service writes its own, structured access log
            "logger_class": "api.server.GunicornLines",
        }
        if metrics_shared:
            self.options["child_exit"] = _worker_exited
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return app_for_serving()


def _worker_exited(_arbiter, worker) -> None:
    from api.process.metrics import worker_exited

    worker_exited(worker.pid)
