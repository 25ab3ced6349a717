"""Where the time of one request goes, in instructions: repeatable to 1-2% of
a request however busy the machine is, unlike seconds.

    python -m bench.instructions                  # callgrind, four scenarios
    python -m bench.instructions get_item         # one scenario
    python -m bench.instructions metrics_alone    # what metrics add to a request
    python -m bench.instructions --profile get_item   # cProfile's top functions
    python -m bench.instructions --profile --sort cumulative get_item
    python -m bench.instructions --seams get_item put_item   # what each seam buys

The service is built in this process against a fresh database (PostgreSQL
when reachable, else SQLite) seeded with 10 stores and 1,000 items, and is
called through ASGI with no server and no socket. Under callgrind each
scenario runs twice, with N and with 2N requests after the same warm-up:
the difference over N is what one request costs, startup excluded. Counted
in this process: the service's Python and, on SQLite, the database. On
PostgreSQL the database server's own work is not counted. Metrics are on
and written to files, as under `serve --workers`; METRICS_ENABLED=false
counts without them. With metrics on, what they add to one request is also
counted alone and set against each scenario: whole requests, on against
off, differ by as much from run to run.
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

REQUESTS = int(os.environ.get("INSTRUCTIONS_REQUESTS", "200"))
WARMUP = 50
# The pseudo-scenario of what metrics add to a request, and nothing else.
METRICS_ALONE = "metrics_alone"
ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-" + "k" * 64


def scenarios(sample: dict) -> dict:
    """method, path, query, body: the reads and writes of `make bench`."""
    item, store, tag = sample["item_id"], sample["store_id"], sample["tag_id"]
    return {
        "get_item": ("GET", f"/api/v1/items/{item}", "", None),
        "get_store": ("GET", f"/api/v1/stores/{store}", "", None),
        "items_by_store": ("GET", "/api/v1/items", f"store_id={store}", None),
        "items_by_store_100": ("GET", "/api/v1/items", f"store_id={store}&limit=100", None),
        "items_by_tag": ("GET", "/api/v1/items", f"tag_id={tag}", None),
        "put_item": ("PUT", f"/api/v1/items/{item}", "",
                     b'{"name": "Bench item", "price": "12.50", "description": "put"}'),
        "link_item_tag": ("PUT", f"/api/v1/items/{item}/tags/{sample['item_tag_id']}", "",
                          None),
    }


class Driver:
    """The service's ASGI app, its lifespan started, called as a server would."""

    def __init__(self, app):
        self.app = app
        self.state: dict = {}
        self._lifespan_events: asyncio.Queue = asyncio.Queue()

    async def start(self) -> None:
        self._answers: asyncio.Queue = asyncio.Queue()

        async def receive():
            return await self._lifespan_events.get()

        async def send(message):
            await self._answers.put(message["type"])

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._lifespan = asyncio.ensure_future(self.app(scope, receive, send))
        await self._lifespan_events.put({"type": "lifespan.startup"})
        answer = await self._answers.get()
        assert answer == "lifespan.startup.complete", answer

    async def stop(self) -> None:
        await self._lifespan_events.put({"type": "lifespan.shutdown"})
        answer = await self._answers.get()
        assert answer == "lifespan.shutdown.complete", answer
        await self._lifespan

    async def call(self, method: str, path: str, query: str = "", body: bytes | None = None,
                   token: str = "") -> tuple[int, bytes]:
        headers = [(b"host", b"127.0.0.1:8000"), (b"accept", b"application/json")]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        if body is not None:
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
                 "state": self.state.copy()}
        sent = False
        status, chunks = 0, []

        async def receive():
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # no disconnect while the app works
            sent = True
            return {"type": "http.request", "body": body or b"", "more_body": False}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def database_url(folder: str) -> str:
    from tests import postgres_suite

    if postgres_suite.reachable():
        name = f"stores_instructions_{uuid.uuid4().hex[:8]}"
        with postgres_suite.admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return (f"postgresql+psycopg://{postgres_suite.USER}@{postgres_suite.HOST}:"
                f"{postgres_suite.PORT}/{name}")
    return f"sqlite:///{folder}/instructions.db"


async def run(scenario: str, requests: int, profile: str | None) -> None:
    from api.app import create_app
    from api.identity import token_view
    from api.process import metrics as process_metrics
    from api.process import migrate
    from api.process.heap import settle_heap
    from api.process.logs import configure_logging
    from api.runtime.config import Settings
    from bench.seams import undo
    from bench.seed import BENCH_PASSWORD, BENCH_USER, seed

    undo(name for name in os.environ.get("SEAMS_OFF", "").split(",") if name)
    url = os.environ["DATABASE_URL"]
    migrate.upgrade(url)
    sample = seed(url, stores=10, items=1_000)
    # Under callgrind a request takes some fifty times as long, and a token
    # view believed for 1 s of wall time would go stale between beats and send
    # some requests, not others, to the database: the largest bound keeps every
    # request on the path it takes in service. Its listener's beats, five a
    # second of wall time, are spaced out too: counted with the requests, they
    # made the count depend on how busy the machine was (up to 3% per request).
    token_view.BEAT_SECONDS = 20
    # The pools' gauges, sampled every second of wall time, likewise.
    process_metrics.POOL_SAMPLE_SECONDS = 20
    # From the environment (DATABASE_URL, and METRICS_ENABLED=false for
    # what metrics cost), but for what the harness decides.
    settings = Settings().but(database_url=url, jwt_secret_key=SECRET, log_level="WARNING",
                              rate_limit_scale=1_000_000, prune_interval_seconds=0,
                              token_view_bound_seconds=60)
    # As `serve` does:
    configure_logging(settings)
    driver = Driver(create_app(settings))
    settle_heap()  # as a serving process does once its app is built (api/server.py)
    await driver.start()
    status, body = await driver.call(
        "POST", "/api/v1/auth/login",
        body=json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD}).encode())
    assert status == 200, body
    token = json.loads(body)["access_token"]
    method, path, query, payload = scenarios(sample)[scenario]

    async def requests_of(count: int) -> None:
        for _ in range(count):
            status, body = await driver.call(method, path, query, payload, token)
            assert status in (200, 204), (status, body[:200])

    await requests_of(WARMUP)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await requests_of(requests)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(profile).print_stats(60)
    else:
        await requests_of(requests)
    await driver.stop()


def request_metrics(requests: int) -> None:
    """What metrics add to a request, alone: the access log's RequestMetrics
    (requests in flight up and down, one histogram observation), written to
    files as under `serve --workers`. Counted alone because the whole
    requests' counts, metrics on against off, move by 1-2% from run to run:
    as much as metrics cost."""
    from api.policies.access_log import RequestMetrics

    metrics = RequestMetrics()
    for _ in range(WARMUP + requests):
        metrics.started()
        metrics.finished("getStore", "GET", 200, 0.0012)


def instructions(scenario: str, requests: int, env: dict) -> int:
    """Instructions callgrind counted for the whole process."""
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/out",
             sys.executable, "-m", "bench.instructions", "--inner", scenario,
             "--requests", str(requests)],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def per_request(scenario: str, requests: int, folder: str, seams_off: str | None = None) -> int:
    """Instructions of one request: counted with N and with 2N requests after
    the same start, the difference over N; with `seams_off` undone (by
    default, SEAMS_OFF's)."""
    if seams_off is None:
        seams_off = os.environ.get("SEAMS_OFF", "")
    counts = []
    for count in (requests, 2 * requests):
        with fresh_database(folder) as url:
            # Metrics written to files, as `serve --workers` has them.
            shared = tempfile.mkdtemp(dir=folder, prefix="metrics-")
            env = {**os.environ, "DATABASE_URL": url, "PYTHONHASHSEED": "0",
                   "PROMETHEUS_MULTIPROC_DIR": shared, "SEAMS_OFF": seams_off}
            counts.append(instructions(scenario, count, env))
    return (counts[1] - counts[0]) // requests


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime", help="cProfile's order (--profile)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--seams", action="store_true",
                        help="count each scenario with every seam of bench/seams.py undone")
    args = parser.parse_args()
    if args.inner:  # under callgrind, in a database made for it
        if args.scenarios[0] == METRICS_ALONE:
            request_metrics(args.requests)
        else:
            asyncio.run(run(args.scenarios[0], args.requests, None))
        return 0
    if args.profile:
        with tempfile.TemporaryDirectory() as folder, fresh_database(folder) as url:
            os.environ["DATABASE_URL"] = url
            asyncio.run(run(args.scenarios[0], args.requests, args.sort))
        return 0
    names = args.scenarios or ["get_item", "get_store", "items_by_store", "put_item"]
    if args.seams:
        seam_gains(names, args.requests)
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            results[name] = per_request(name, args.requests, folder)
            print(f"{name:20} {results[name] / 1e6:.3f}M instructions per request", flush=True)
        if os.environ.get("METRICS_ENABLED", "true").lower() != "false" \
                and METRICS_ALONE not in results:
            metrics = per_request(METRICS_ALONE, 10 * args.requests, folder)
            shares = [metrics / count for count in results.values()]
            print(f"{METRICS_ALONE:20} {metrics / 1e6:.3f}M instructions per request: "
                  f"{min(shares):.1%} to {max(shares):.1%} of the requests above", flush=True)
    return 0


def seam_gains(scenarios: list[str], requests: int) -> None:
    """Per scenario, the instructions of a request with each seam undone,
    against all seams kept: what each seam buys."""
    from bench.seams import SEAMS

    with tempfile.TemporaryDirectory() as folder:
        for scenario in scenarios:
            kept = per_request(scenario, requests, folder)
            print(f"{scenario:20} {kept / 1e6:.3f}M instructions per request, every seam kept",
                  flush=True)
            for seam in SEAMS:
                undone = per_request(scenario, requests, folder, seams_off=seam)
                print(f"{scenario:20} {seam:20} {undone / 1e6:.3f}M undone: the seam buys "
                      f"{(undone - kept) / 1e3:+.0f}k ({(undone - kept) / undone:+.1%})",
                      flush=True)


@contextmanager
def fresh_database(folder: str):
    from tests import postgres_suite

    url = database_url(folder)
    try:
        yield url
    finally:
        if url.startswith("postgresql"):
            postgres_suite.drop_databases(url.rsplit("/", 1)[1])
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
