"""`make bench`: the service against two references, on a realistic data set.

Seeds 1,000 stores, 100,000 items, 5,000 tags and 200,000 links (PostgreSQL when
reachable, else SQLite), serves them with gunicorn and 2 uvicorn workers, and
drives each scenario with wrk at 32 connections for BENCH_SECONDS (default 10).
The same JSON from the same queries is then served by a hand-written Flask app
and by a bare ASGI app, and every read scenario is reported as a ratio to each:
ratios measured side by side in one run compare across noisy machines. The page
queries run again on 1,000 items to show that their cost stays flat with size.
Results: printed, and written to reports/bench.json.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from api import migrate
from bench.seed import BENCH_PASSWORD, BENCH_USER, seed
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "bench.json"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ITEMS = int(os.environ.get("BENCH_ITEMS", "100000"))  # smaller for a quick try
CONNECTIONS = 32
BIN = Path(sys.executable).parent
SECRET = "bench-" + "k" * 64

READS = ["get_item", "items_by_store", "items_by_tag", "items_by_price", "get_store"]
PAGES = ["items_by_store", "items_by_tag", "items_by_price"]


def scenarios(sample: dict, token: str) -> dict:
    item, store, tag = sample["item_id"], sample["store_id"], sample["tag_id"]
    return {
        "get_item": {"path": f"/api/v1/items/{item}"},
        "items_by_store": {"path": f"/api/v1/items?store_id={store}"},
        "items_by_tag": {"path": f"/api/v1/items?tag_id={tag}"},
        "items_by_price": {"path": "/api/v1/items?min_price=100&max_price=200"},
        "get_store": {"path": f"/api/v1/stores/{store}"},
        "post_item": {"path": "/api/v1/items", "method": "POST",
                      "unique": f'{{"name": "bench %s", "price": 9.99, "store_id": {store}}}'},
        "put_item": {"path": f"/api/v1/items/{item}", "method": "PUT",
                     "body": '{"name": "Bench item", "price": 12.5, "description": "put"}'},
        "login": {"path": "/api/v1/auth/login", "method": "POST", "auth": False,
                  "body": json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD})},
    }


def wrk(base_url: str, scenario: dict, token: str, server_pid: int | None = None) -> dict:
    cpu_before = server_cpu_seconds(server_pid)
    env = {**os.environ, "BENCH_METHOD": scenario.get("method", "GET"),
           "BENCH_BODY": scenario.get("body", ""), "BENCH_UNIQUE": scenario.get("unique", ""),
           "BENCH_TOKEN": token if scenario.get("auth", True) else ""}
    out = subprocess.run(
        ["wrk", "-t", "4", "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--latency",
         "--timeout", "10s",  # logins queue behind the hash: no false time-outs
         "-s", str(ROOT / "bench" / "wrk.lua"), base_url + scenario["path"]],
        env=env, capture_output=True, text=True, timeout=SECONDS + 60, check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out)[1])
    cpu = server_cpu_seconds(server_pid) - cpu_before
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        # CPU the server's processes spent per request: steadier than req/s on
        # a shared machine, and it says where a gap is (ours, or the database's).
        "server_cpu_ms_per_request": round(1000 * cpu / requests, 3) if requests else None,
        "p50_ms": _ms(re.search(r"\s50%\s+([\d.]+\w+)", out)[1]),
        "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+\w+)", out)[1]),
        "errors": sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
        + sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    }


def server_cpu_seconds(pid: int | None) -> float:
    """User and system CPU of `pid` and its live descendants (Linux /proc)."""
    if pid is None or not Path("/proc/self/stat").exists():
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    family, total = {pid}, 0
    for _ in range(3):  # server -> gunicorn arbiter -> workers
        family |= {child for child, (parent, _) in stats.items() if parent in family}
    for member in family:
        total += stats.get(member, (0, 0))[1]
    return total / tick


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return round(float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 3)


@contextmanager
def serving(command, database_url: str):
    """`command(port)` serving `database_url` until the block ends."""
    port = free_port()
    # The rate limiter runs and counts every request, as in production; its
    # quotas are raised so that one benchmark user is never refused.
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET_KEY": SECRET,
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "RATE_LIMIT_SCALE": "1000000"}
    process = subprocess.Popen(command(port), env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait(base_url, process)
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait(base_url: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            urllib.request.urlopen(f"{base_url}/api/v1/stores/1", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (401 without a token)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{base_url} did not come up")


def login(base_url: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/api/v1/auth/login", method="POST",
        data=json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


def SERVICE(port):  # noqa: N802 (read as constants)
    return [str(BIN / "stores-api"), "serve", "--workers", "2", "--host", "127.0.0.1",
            "--port", str(port)]


def FLASK(port):  # noqa: N802
    return [str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "10",
            "-b", f"127.0.0.1:{port}", "bench.references:flask_app()"]


def ASGI(port):  # noqa: N802
    return [str(BIN / "gunicorn"), "-w", "2", "-k", "uvicorn_worker.UvicornWorker",
            "-b", f"127.0.0.1:{port}", "bench.references:asgi_app()"]


@contextmanager
def databases():
    """Two fresh databases (small, large): PostgreSQL when reachable, else SQLite."""
    from tests import postgres_suite

    if postgres_suite.reachable():
        names = [f"stores_bench_{uuid.uuid4().hex[:8]}_{size}" for size in ("small", "large")]
        with postgres_suite.admin_connection() as connection:
            for name in names:
                connection.execute(f'CREATE DATABASE "{name}"')
        base = f"postgresql+psycopg://{postgres_suite.USER}@{postgres_suite.HOST}:{postgres_suite.PORT}"
        try:
            yield "postgresql", [f"{base}/{name}" for name in names]
        finally:
            for name in names:
                postgres_suite.drop_databases(name)
    else:
        folder = tempfile.mkdtemp(prefix="stores-bench-")
        try:
            yield "sqlite", [f"sqlite:///{folder}/{size}.db" for size in ("small", "large")]
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 1
    results = {"seconds_per_scenario": SECONDS, "connections": CONNECTIONS, "workers": 2}
    with databases() as (backend, (small_url, large_url)):
        results["database"] = backend
        for url in (small_url, large_url):
            migrate.upgrade(url)
        print(f"seeding ({backend}) ...", flush=True)
        small = seed(small_url, stores=10, items=1_000)
        large = seed(large_url, stores=max(10, ITEMS // 100), items=ITEMS)

        measured = {}
        with serving(SERVICE, large_url) as (base_url, pid):
            token = login(base_url)
            for name, scenario in scenarios(large, token).items():
                measured[name] = {"service": wrk(base_url, scenario, token, pid)}
                print(f"service  {name:16} {_line(measured[name]['service'])}", flush=True)
        for label, command in (("flask", FLASK), ("asgi", ASGI)):
            with serving(command, large_url) as (base_url, pid):
                for name in READS:
                    measured[name][label] = wrk(base_url, scenarios(large, "")[name], "", pid)
                    print(f"{label:8} {name:16} {_line(measured[name][label])}", flush=True)
        with serving(SERVICE, small_url) as (base_url, pid):
            token = login(base_url)
            for name in PAGES:
                run = wrk(base_url, scenarios(small, token)[name], token, pid)
                measured[name]["service_at_1000_items"] = run
                print(f"small    {name:16} {_line(run)}", flush=True)

    for runs in measured.values():
        service = runs["service"]["requests_per_second"]
        for label in ("flask", "asgi"):
            if label in runs:
                runs[f"ratio_to_{label}"] = round(service / runs[label]["requests_per_second"], 3)
        if "flask" in runs:
            # The same comparison in CPU per request (1.0: as cheap as the
            # reference): steadier than req/s, which moves with how the
            # connections happen to spread over the workers.
            runs["cpu_ratio_to_flask"] = round(
                runs["flask"]["server_cpu_ms_per_request"]
                / runs["service"]["server_cpu_ms_per_request"], 3)
        if "service_at_1000_items" in runs:
            small_rps = runs["service_at_1000_items"]["requests_per_second"]
            runs["cost_ratio_100k_to_1k_items"] = round(small_rps / service, 3)
    results["scenarios"] = measured
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(results, indent=2))
    print_table(measured)
    print(f"\nwritten to {REPORT.relative_to(ROOT)}")
    return 0


def _line(run: dict) -> str:
    return (f"{run['requests_per_second']:9.1f} req/s  p50 {run['p50_ms']:7.2f} ms  "
            f"p99 {run['p99_ms']:7.2f} ms  errors {run['errors']}  "
            f"server cpu {run['server_cpu_ms_per_request']} ms/req")


def print_table(measured: dict) -> None:
    print(f"\n{'scenario':16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
          f"{'x flask':>8} {'x asgi':>7} {'100k/1k':>8} {'cpu ms':>7} {'flask ms':>8} "
          f"{'cpu x flask':>11}")
    for name, runs in measured.items():
        service = runs["service"]
        print(f"{name:16} {service['requests_per_second']:9.1f} {service['p50_ms']:8.2f} "
              f"{service['p99_ms']:8.2f} {service['errors']:6} "
              f"{runs.get('ratio_to_flask', ''):>8} {runs.get('ratio_to_asgi', ''):>7} "
              f"{runs.get('cost_ratio_100k_to_1k_items', ''):>8} "
              f"{service['server_cpu_ms_per_request']:>7} "
              f"{runs.get('flask', {}).get('server_cpu_ms_per_request', ''):>8} "
              f"{runs.get('cpu_ratio_to_flask', ''):>11}")


if __name__ == "__main__":
    sys.exit(main())
