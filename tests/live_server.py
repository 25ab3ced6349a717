"""Real `stores-api serve` processes on 127.0.0.1, for tests that need them."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTUP_SECONDS = 60
# A password hash costs a test server about 10 ms, not 0.1 s: enough for any
# test that is not about what a hash costs; those pass SERVICE_HASH_COST.
TEST_HASH_COST = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8192"}
SERVICE_HASH_COST = {"PASSWORD_HASH_TIME_COST": "", "PASSWORD_HASH_MEMORY_KIB": ""}  # defaults
STOP_SECONDS = 40
# The Redis that tests of shared rate-limit counters use, when it runs.
REDIS = ("127.0.0.1", 6379)


@dataclass
class LiveServer:
    url: str
    log_path: Path
    process: subprocess.Popen
    env: dict  # the server's environment: a command run with it acts on its database

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def log(self) -> str:
        return self.log_path.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(tmp_path: Path, database_url: str | None, **overrides) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'live.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        # Several servers over one database must sign alike, as hosts behind a
        # load balancer share their secret.
        "JWT_SECRET_KEY": "live-server-" + "k" * 64,
        # Test traffic (Schemathesis, browsers, clients, crowds of creates) comes
        # from one address and a few users: the spec's quotas, scaled up by
        # configuration. Tests of the limits themselves set their own scale.
        "RATE_LIMIT_SCALE": "1000",
        # Stopped by the test, not taken out of a load balancer: no delay
        # (tests/production/test_draining.py sets its own).
        "SHUTDOWN_DELAY_SECONDS": "0",
        **TEST_HASH_COST,
        **overrides,
    }


@contextmanager
def live_server(tmp_path: Path, database_url: str | None = None, workers: int = 0, **env):
    """Serve on a free port until the block ends; the process is always stopped."""
    server = start_server(tmp_path, database_url, workers, **env)
    try:
        yield server
    finally:
        stop(server)


def start_server(tmp_path: Path, database_url: str | None = None, workers: int = 0,
                 port: int | None = None, **env) -> LiveServer:
    """A healthy server on `port` (a free one by default), working in
    `tmp_path`; the caller stops it. Started again on the same port, it
    appends to the same log."""
    port = port or free_port()
    log_path = tmp_path / f"server-{port}.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    environment = server_env(tmp_path, database_url, **env)
    with open(log_path, "a") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, cwd=tmp_path,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", log_path, process, environment)
    try:
        wait_until_healthy(server)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: LiveServer) -> int:
    """SIGTERM, as an orchestrator would; SIGKILL the whole group if it hangs."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        return server.process.wait()


def worker_pids(server: LiveServer) -> list[int]:
    """The process ids of gunicorn's workers: the children of its master."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def crash(server: LiveServer) -> None:
    """SIGKILL the master and every worker at once, as a host's OOM killer
    or a pulled plug would: nothing runs a handler to its end."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not become healthy:\n{server.log()}")


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=2):
            return True
    except OSError:
        return False
