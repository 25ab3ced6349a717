"""Serving: uvicorn for one process, gunicorn with uvicorn workers for several."""

from gunicorn.app.base import BaseApplication

GRACEFUL_TIMEOUT_SECONDS = 30


class GunicornServer(BaseApplication):
    """gunicorn as a library: the master forks `workers` uvicorn workers, each of
    which builds its own app (its own engine and pool) after the fork."""

    def __init__(self, host: str, port: int, workers: int):
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "uvicorn_worker.UvicornWorker",
            # SIGTERM: stop accepting, let in-flight requests finish, then exit.
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "accesslog": None,  # the service writes its own, structured access log
        }
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from api.app import create_app

        return create_app()
