"""Serving: uvicorn for one process, gunicorn with uvicorn workers for several."""

from typing import TYPE_CHECKING

from gunicorn.app.base import BaseApplication
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


class Worker(UvicornWorker):
    """uvicorn's gunicorn worker, without the `server` header and with the
    bounded request head; gunicorn passes it `forwarded_allow_ips`."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "server_header": False,
                     "http": HTTP_PROTOCOL}


class GunicornServer(BaseApplication):
    """gunicorn as a library: the master forks `workers` uvicorn workers, each of
    which builds its own app (its own engine and pool) after the fork."""

    def __init__(self, host: str, port: int, workers: int, trusted_proxies: tuple[str, ...]):
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "api.server.Worker",
            "forwarded_allow_ips": ",".join(trusted_proxies),
            # SIGTERM: stop accepting, let in-flight requests finish, then exit.
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "accesslog": None,  # the service writes its own, structured access log
        }
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return app_for_serving()
