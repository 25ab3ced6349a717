"""Serving: uvicorn for one process, gunicorn with uvicorn workers for several.

The settings `stores-api serve` read come in as an argument and go on as
one: into the app of this process, and through gunicorn's application
object (`GunicornServer`, which the master hands each worker) into every
worker's app, protocol and drain. Only a process of uvicorn's reloader
starts without them and reads its own (api/process/startup.py).
"""

import functools
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

from api.serving.bounded_head import BoundedHeadProtocol

if TYPE_CHECKING:
    from api.app import StoresApp
    from api.runtime.config import Settings

GRACEFUL_TIMEOUT_SECONDS = 30


def app_for_serving(settings: "Settings | None" = None) -> "StoresApp":
    """The app a serving process runs: built, then its heap settled
    (api/process/heap.py). Each process builds its own: gunicorn's workers after the
    fork (the master never imports the app)."""
    from api.app import create_app
    from api.process.heap import settle_heap
    from api.process.startup import settings_for_serving

    app = create_app(settings or settings_for_serving())
    settle_heap()
    return app


def bounded_head(settings: "Settings") -> functools.partial:
    """uvicorn's httptools protocol with bounds on the request head
    (api/serving/bounded_head.py), as uvicorn's `http` option takes it."""
    return functools.partial(BoundedHeadProtocol,
                             head_timeout=settings.request_head_timeout_seconds,
                             body_timeout=settings.request_body_timeout_seconds)


def uvicorn_options(settings: "Settings") -> dict:
    """What uvicorn is told in either setup: no banner naming the server,
    X-Forwarded-For / X-Forwarded-Proto believed only from TRUSTED_PROXIES
    (uvicorn believes 127.0.0.1 unless told otherwise), and the request head
    bounded in size and time."""
    return {
        "server_header": False,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
        "http": bounded_head(settings),
    }


def serve_with_uvicorn(settings: "Settings", host: str, port: int, reload: bool) -> None:
    import uvicorn

    options = dict(
        host=host,
        port=port,
        access_log=False,  # the service writes its own, structured access log
        log_config=None,  # logging is set up already: uvicorn's would close its handlers
        **uvicorn_options(settings),
    )
    if reload:  # development: no draining; the reloader's process reads its own settings
        uvicorn.run("api.server:app_for_serving", factory=True, reload=True, **options)
        return
    config = uvicorn.Config(app_for_serving(settings), **options)
    DrainingServer(config, settings.shutdown_delay_seconds).run()


def serve_with_gunicorn(settings: "Settings", host: str, port: int, workers: int) -> None:
    if settings.metrics_enabled:
        # Before the fork: each worker counts into the files a scrape sums.
        from api.process.metrics import share_between_workers

        share_between_workers(settings.prometheus_multiproc_dir)
    GunicornServer(settings, host, port, workers).run()


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


class Worker(UvicornWorker):
    """uvicorn's gunicorn worker, without the `server` header, with the
    bounded request head, and draining on SIGTERM (DrainingServer); gunicorn
    passes it `forwarded_allow_ips`, and `app`, our GunicornServer, the settings."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "server_header": False}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.config.http = bounded_head(self.app.settings)  # read when the server starts
        self.shutdown_delay = self.app.settings.shutdown_delay_seconds

    # UvicornWorker._serve (uvicorn-worker 0.4.0) with our server: the worker
    # has no seam for the server class. tests/test_connexion_seams.py fails
    # if an upgrade changes the method.
    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config, shutdown_delay=self.shutdown_delay)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


class GunicornLines(GunicornLogger):
    """gunicorn's own lines (its master's, a worker's boot and exit) as one
    JSON object each (LOG_FORMAT=json): gunicorn sets its handlers up itself."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        from api.process.logs import JsonLines

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonLines())


class GunicornServer(BaseApplication):
    """gunicorn as a library: the master forks `workers` uvicorn workers, each of
    which builds its own app (its own engine and pool) after the fork."""

    def __init__(self, settings: "Settings", host: str, port: int, workers: int):
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "api.server.Worker",
            "forwarded_allow_ips": ",".join(settings.trusted_proxies),
            # SIGTERM: each worker serves on for SHUTDOWN_DELAY_SECONDS, stops
            # accepting, lets in-flight requests finish, then exits.
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS
            + math.ceil(settings.shutdown_delay_seconds),
            "accesslog": None,  # the service writes its own, structured access log
        }
        if settings.log_format == "json":
            self.options["logger_class"] = "api.server.GunicornLines"
        if settings.metrics_enabled:
            self.options["child_exit"] = _worker_exited
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return app_for_serving(self.settings)


def _worker_exited(_arbiter, worker) -> None:
    from api.process.metrics import worker_exited

    worker_exited(worker.pid)
