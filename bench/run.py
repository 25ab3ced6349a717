"""`make bench`: the service against two references, on a realistic data set,
in interleaved rounds so that one disturbed run cannot speak for the code.

Seeds 1,000 stores, 100,000 items (BENCH_ITEMS), 5,000 tags and 200,000
links (PostgreSQL when reachable, else SQLite), and serves them at once with
the service (gunicorn, 2 uvicorn workers), a hand-written Flask app doing the
same queries and writes with no checks, and a bare ASGI app (reads only).
Each scenario runs BENCH_ROUNDS times (default 3) with wrk at 32 connections
for BENCH_SECONDS (default 10): service, references, then the references and
the service in the other order, and so on. Every run records the machine's
load besides its own numbers, and a run during which other processes took
more than DISTURBED_SHARE of the machine's CPU (or the hypervisor stole more
than STOLEN_SHARE) is flagged and left out of the medians when undisturbed
rounds remain. The page queries also run at limit=100, and again on 1,000
items to show that their cost stays flat with size.

Reported: per scenario and server the median and spread of every metric, and
the service's ratios to the Flask reference (CPU per request, p50, p99); CPU
per request also round by round ("paired"), which a machine whose speed
drifts from round to round moves less. The service runs twice, side by side:
as `serve` runs it (metrics on) and with METRICS_ENABLED=false, and what the
metrics cost is their paired ratio of CPU per request.
Every round is kept in reports/bench.json (bench-<N>-items.json for BENCH_ITEMS=N).
"""

import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from api.process import migrate
from bench.seed import BENCH_PASSWORD, BENCH_USER, seed
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / (f"bench-{os.environ['BENCH_ITEMS']}-items.json"
                             if "BENCH_ITEMS" in os.environ else "bench.json")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ITEMS = int(os.environ.get("BENCH_ITEMS", "100000"))  # smaller for a quick try
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 32
BIN = Path(sys.executable).parent
SECRET = "bench-" + "k" * 64
# A run is disturbed when other processes took more than this share of the
# machine's CPU meanwhile, or the hypervisor stole more than STOLEN_SHARE.
DISTURBED_SHARE = 0.15
STOLEN_SHARE = 0.05

PAGES = ["items_by_store", "items_by_tag", "items_by_price",
         "items_by_store_100", "items_by_tag_100", "items_by_price_100"]
READS = ["get_item", "get_store", *PAGES]
WRITES = ["post_item", "put_item", "link_item_tag"]
# A comma-separated subset, for a quick or a large run (BENCH_ITEMS=1000000
# BENCH_SCENARIOS=items_by_store,items_by_tag,...): only these are run.
# Reads (get_store) with logins always in flight, against the same reads alone:
# a login's password check must not take what reads need (issue 30).
DURING_LOGINS = "reads_during_logins"
LOGINS_IN_FLIGHT = 8
# A 100 MB header line sent to the service, meanwhile /health asked again
# and again: what it costs the server (api/serving/bounded_head.py).
HUGE_HEADER = "huge_header"
HUGE_HEADER_BYTES = 100 * 1024 * 1024
ONLY = {name for name in os.environ.get("BENCH_SCENARIOS", "").split(",") if name}
if ONLY - set(READS + WRITES + [DURING_LOGINS, HUGE_HEADER]):
    raise SystemExit(f"BENCH_SCENARIOS: unknown {sorted(ONLY - set(READS + WRITES))}")
if ONLY:
    PAGES, READS, WRITES = ([n for n in names if n in ONLY] for names in (PAGES, READS, WRITES))


def scenarios(sample: dict, token: str) -> dict:
    item, store, tag = sample["item_id"], sample["store_id"], sample["tag_id"]
    pages = {
        "items_by_store": f"/api/v1/items?store_id={store}",
        "items_by_tag": f"/api/v1/items?tag_id={tag}",
        "items_by_price": "/api/v1/items?min_price=100&max_price=200",
    }
    return {
        "get_item": {"path": f"/api/v1/items/{item}"},
        "get_store": {"path": f"/api/v1/stores/{store}"},
        **{name: {"path": path} for name, path in pages.items()},
        # The largest page the spec allows: where the cost per item dominates.
        **{f"{name}_100": {"path": f"{path}&limit=100"} for name, path in pages.items()},
        "post_item": {"path": "/api/v1/items", "method": "POST",
                      "unique": f'{{"name": "bench %s", "price": "9.99", "store_id": {store}}}'},
        "put_item": {"path": f"/api/v1/items/{item}", "method": "PUT",
                     "body": '{"name": "Bench item", "price": "12.50", "description": "put"}'},
        "link_item_tag": {"path": f"/api/v1/items/{item}/tags/{sample['item_tag_id']}",
                          "method": "PUT"},
        "login": {"path": "/api/v1/auth/login", "method": "POST", "auth": False,
                  "body": json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD})},
    }


def wrk(base_url: str, scenario: dict, token: str, server_pid: int | None = None) -> dict:
    machine_before, wrk_before = machine_cpu(), _children_cpu_seconds()
    database_before = database_cpu_seconds()
    started = time.monotonic()
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
    database_cpu = database_cpu_seconds() - database_before
    load = machine_load(machine_before, machine_cpu(), time.monotonic() - started,
                        cpu + database_cpu + _children_cpu_seconds() - wrk_before)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        # CPU the server's processes spent per request: steadier than req/s on
        # a shared machine, and it says where a gap is (ours, or the database's).
        "server_cpu_ms_per_request": round(1000 * cpu / requests, 3) if requests else None,
        "database_cpu_ms_per_request": round(1000 * database_cpu / requests, 3)
        if requests else None,
        "p50_ms": _ms(re.search(r"\s50%\s+([\d.]+\w+)", out)[1]),
        "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+\w+)", out)[1]),
        "errors": sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
        + sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
        **load,
    }


def machine_cpu() -> dict:
    """The machine's CPU time so far, in seconds: busy, stolen, and in all."""
    try:
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick,
            "total": sum(fields[:8]) / tick}


def machine_load(before: dict, after: dict, seconds: float, ours: float) -> dict:
    """What else the machine did during a run: the share of its CPU that
    processes other than the server and wrk took, the share stolen, and
    the load average; `disturbed` when either share was out of line."""
    if not before or not after or seconds <= 0:
        return {"other_cpu_share": None, "stolen_share": None, "disturbed": False}
    capacity = seconds * (os.cpu_count() or 1)
    others = max(0.0, after["busy"] - before["busy"] - ours) / capacity
    total = after["total"] - before["total"]
    stolen = (after["steal"] - before["steal"]) / total if total else 0.0
    return {"other_cpu_share": round(others, 3), "stolen_share": round(stolen, 3),
            "load_average": os.getloadavg()[0],
            "disturbed": others > DISTURBED_SHARE or stolen > STOLEN_SHARE}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
    return usage.ru_utime + usage.ru_stime


def _process_stats() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, CPU ticks, command name) of every process (Linux /proc)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue  # gone meanwhile
            fields = tail.split()
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]),
                                      head.split("(", 1)[1])
    return stats


def database_cpu_seconds() -> float:
    """CPU of the PostgreSQL server's processes on this machine: the
    database's share of the work, not a disturbance."""
    if not Path("/proc/self/stat").exists():
        return 0.0
    ticks = sum(cpu for _, cpu, name in _process_stats().values() if name == "postgres")
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid: int | None) -> float:
    """User and system CPU of `pid` and its live descendants (Linux /proc)."""
    if pid is None or not Path("/proc/self/stat").exists():
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    stats = {pid_: (parent, cpu) for pid_, (parent, cpu, _) in _process_stats().items()}
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
def serving(command, database_url: str, **extra_env):
    """`command(port)` serving `database_url` until the block ends."""
    port = free_port()
    # The rate limiter runs and counts every request, as in production; its
    # quotas are raised so that one benchmark user is never refused. One login
    # serves the whole run (about 20 minutes): its token must outlive it.
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET_KEY": SECRET,
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "RATE_LIMIT_SCALE": "1000000",
           "ACCESS_TOKEN_SECONDS": str(24 * 3600), **extra_env}
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
    results = {"seconds_per_run": SECONDS, "rounds": ROUNDS, "connections": CONNECTIONS,
               "workers": 2, "items": ITEMS}
    with databases() as (backend, (small_url, large_url)):
        results["database"] = backend
        for url in (small_url, large_url):
            migrate.upgrade(url)
        print(f"seeding ({backend}, {ITEMS} items) ...", flush=True)
        small = seed(small_url, stores=10, items=1_000)
        large = seed(large_url, stores=max(10, ITEMS // 100), items=ITEMS)

        rounds = {}
        with serving(SERVICE, large_url) as service, serving(FLASK, large_url) as flask, \
                serving(ASGI, large_url) as asgi, \
                serving(SERVICE, large_url, METRICS_ENABLED="false") as without_metrics:
            token = login(service[0])
            servers = {"service": (*service, token), "flask": (*flask, ""),
                       "asgi": (*asgi, ""), "metrics_off": (*without_metrics, token)}
            for name in READS + WRITES:
                targets = ["service", "metrics_off", "flask"] + (
                    ["asgi"] if name in READS else [])
                rounds[name] = interleaved(name, scenarios(large, ""), servers, targets)
            if not ONLY or HUGE_HEADER in ONLY:
                results[HUGE_HEADER] = huge_header(*service)
            if not ONLY or DURING_LOGINS in ONLY:
                results[DURING_LOGINS] = reads_during_logins(
                    *service, token, scenarios(large, "")["get_store"])
        with serving(SERVICE, small_url) as service:
            servers = {"service_at_1000_items": (*service, login(service[0]))}
            for name in PAGES:
                rounds[name].update(interleaved(
                    name, scenarios(small, ""), servers, ["service_at_1000_items"]))

    results["scenarios"] = {name: summary(runs) for name, runs in rounds.items()}
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(results, indent=2))
    print_table(results["scenarios"])
    print(f"\nwritten to {REPORT.relative_to(ROOT)}")
    return 0


def huge_header(base_url: str, pid: int) -> dict:
    """The server's memory and the longest /health answer while one
    connection sends a 100 MB header line (the goals: under 1 MB, 50 ms)."""
    workers = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    latencies, stop = [], threading.Event()

    def probe():
        for _ in range(100_000):
            if stop.is_set():
                return
            started = time.monotonic()
            urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=30).read()
            latencies.append(time.monotonic() - started)
            time.sleep(0.002)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(2)  # the workers' memory settled under the probes first
    memory_before = sum(_rss_kib(worker) for worker in workers)
    sent, port = 0, int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: bench\r\nX-Huge: ")
        try:
            while sent < HUGE_HEADER_BYTES:
                sock.sendall(b"a" * 65_536)
                sent += 65_536
        except OSError:
            pass
        answer = sock.recv(64).split(b"\r\n")[0].decode()
    time.sleep(1)
    stop.set()
    prober.join(timeout=60)
    out = {"answer": answer, "bytes_sent_before_close": sent,
           "worker_memory_kib_delta": sum(_rss_kib(worker) for worker in workers) - memory_before,
           "health_p50_ms": round(1000 * statistics.median(latencies), 2),
           "health_max_ms": round(1000 * max(latencies), 2)}
    print(f"huge header: {out}", flush=True)
    return out


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def reads_during_logins(base_url: str, pid: int, token: str, reads: dict) -> dict:
    """ROUNDS pairs of runs of `reads`: alone, then with LOGINS_IN_FLIGHT
    logins always in flight (each one a full password check)."""
    runs = {"alone": [], "during_logins": []}
    for round_ in range(ROUNDS):
        runs["alone"].append(wrk(base_url, reads, token, pid))
        with logins_in_flight(base_url) as answers:
            run = wrk(base_url, reads, token, pid)
        runs["during_logins"].append({**run, "login_answers": dict(answers)})
        for name, shown in (("alone", runs["alone"][-1]), ("during logins", run)):
            print(f"round {round_ + 1} service {name:13} get_store  {_line(shown)}", flush=True)
        print(f"        logins answered meanwhile: {dict(answers)}", flush=True)
    p50 = {kind: statistics.median(run["p50_ms"] for run in kind_runs)
           for kind, kind_runs in runs.items()}
    ratio = round(p50["during_logins"] / p50["alone"], 2) if p50["alone"] else None
    print(f"\nreads' p50 during {LOGINS_IN_FLIGHT} logins in flight: {p50['during_logins']} ms, "
          f"alone {p50['alone']} ms: x{ratio} (goal: at most x2)")
    return {"runs": runs, "p50_ms": p50, "p50_during_x_alone": ratio}


@contextmanager
def logins_in_flight(base_url: str):
    """LOGINS_IN_FLIGHT threads logging in one after another until the block
    ends (at most 5,000 logins each); yields the count of each status."""
    answers, stop = {}, threading.Event()
    body = json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD}).encode()

    def keep_logging_in():
        for _ in range(5_000):
            if stop.is_set():
                return
            request = urllib.request.Request(f"{base_url}/api/v1/auth/login", data=body,
                                             method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
                if status == 503:  # busy: as a client would, after Retry-After
                    stop.wait(int(error.headers.get("Retry-After", "1")))
            answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=keep_logging_in) for _ in range(LOGINS_IN_FLIGHT)]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def interleaved(name: str, shapes: dict, servers: dict, targets: list[str]) -> dict:
    """ROUNDS runs of scenario `name` on each target, alternating their order."""
    runs = {target: [] for target in targets}
    for round_ in range(ROUNDS):
        for target in targets if round_ % 2 == 0 else reversed(targets):
            base_url, pid, token = servers[target]
            run = wrk(base_url, shapes[name], token, pid)
            runs[target].append(run)
            flag = "  DISTURBED" if run["disturbed"] else ""
            print(f"round {round_ + 1} {target:21} {name:18} {_line(run)}{flag}", flush=True)
    return runs


def summary(runs: dict) -> dict:
    """Medians and spreads per server, over the undisturbed rounds (all of
    them if every round was disturbed), the ratios to Flask, and every round."""
    out = {"rounds": runs}
    for target, target_runs in runs.items():
        calm = [run for run in target_runs if not run["disturbed"]] or target_runs
        out[target] = {
            metric: _median_and_spread([run[metric] for run in calm])
            for metric in ("requests_per_second", "server_cpu_ms_per_request", "p50_ms",
                           "p99_ms")
        } | {"errors": sum(run["errors"] for run in target_runs),
             "disturbed_rounds": sum(run["disturbed"] for run in target_runs)}
    service = out["service"]
    if "flask" in out:
        flask = out["flask"]
        # CPU per request, 1.0 or more: at most as costly as the reference.
        out["cpu_x_flask"] = _ratio(flask, service, "server_cpu_ms_per_request")
        # The same, round by round: the two ran seconds apart, so a machine
        # whose speed drifts between rounds moves both sides of each ratio.
        out["cpu_x_flask_paired"] = _paired_ratio(runs["flask"], runs["service"],
                                                  "server_cpu_ms_per_request")
        # Latency, as the service's over the reference's: goals p99 <= 1.2, p50 <= 1.0.
        out["p99_x_flask"] = _ratio(service, flask, "p99_ms")
        out["p50_x_flask"] = _ratio(service, flask, "p50_ms")
        out["rps_x_flask"] = _ratio(service, flask, "requests_per_second")
    if "metrics_off" in out:
        # What the metrics cost: CPU per request with them over without, round by round.
        out["cpu_metrics_on_x_off_paired"] = _paired_ratio(
            runs["service"], runs["metrics_off"], "server_cpu_ms_per_request")
    if "asgi" in out:
        out["rps_x_asgi"] = _ratio(service, out["asgi"], "requests_per_second")
    if "service_at_1000_items" in out:
        # What a page costs at full size over what it costs at 1,000 items.
        out["cpu_large_x_1000_items"] = _ratio(service, out["service_at_1000_items"],
                                               "server_cpu_ms_per_request")
    return out


def _median_and_spread(values: list) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "spread": None}
    median = statistics.median(values)
    # The range of the rounds relative to their median: 0.1 is +-5 %.
    spread = round((max(values) - min(values)) / median, 3) if median else None
    return {"median": round(median, 3), "spread": spread, "min": min(values),
            "max": max(values)}


def _ratio(numerator: dict, denominator: dict, metric: str) -> float | None:
    top, bottom = numerator[metric]["median"], denominator[metric]["median"]
    return round(top / bottom, 3) if top and bottom else None


def _paired_ratio(numerators: list, denominators: list, metric: str) -> dict:
    """The median and spread of numerator over denominator in each round where
    neither run was disturbed (every round, if none is left)."""
    pairs = list(zip(numerators, denominators, strict=True))
    calm = [(a, b) for a, b in pairs if not (a["disturbed"] or b["disturbed"])] or pairs
    return _median_and_spread([a[metric] / b[metric] for a, b in calm
                               if a[metric] and b[metric]])


def _line(run: dict) -> str:
    return (f"{run['requests_per_second']:9.1f} req/s  p50 {run['p50_ms']:7.2f} ms  "
            f"p99 {run['p99_ms']:7.2f} ms  errors {run['errors']}  "
            f"cpu {run['server_cpu_ms_per_request']} ms/req  others {run['other_cpu_share']}")


def print_table(summaries: dict) -> None:
    columns = [("scenario", 20), ("req/s", 8), ("cpu ms", 7), ("spread", 6), ("flask ms", 8),
               ("cpu x flask", 11), ("paired", 6), ("p50 ms", 7), ("p99 ms", 8), ("spread", 6),
               ("p50 x fl", 8), ("p99 x fl", 8), ("large/1k", 8), ("metrics x", 9),
               ("errors", 6), ("disturbed", 9)]
    print("\n" + " ".join(f"{title:>{width}}" for title, width in columns))
    for name, out in summaries.items():
        service, flask = out["service"], out.get("flask", {})
        cells = [
            name, service["requests_per_second"]["median"],
            service["server_cpu_ms_per_request"]["median"],
            service["server_cpu_ms_per_request"]["spread"],
            flask.get("server_cpu_ms_per_request", {}).get("median"), out.get("cpu_x_flask"),
            out.get("cpu_x_flask_paired", {}).get("median"),
            service["p50_ms"]["median"], service["p99_ms"]["median"],
            service["p99_ms"]["spread"], out.get("p50_x_flask"), out.get("p99_x_flask"),
            out.get("cpu_large_x_1000_items"),
            out.get("cpu_metrics_on_x_off_paired", {}).get("median"), service["errors"],
            sum(o.get("disturbed_rounds", 0) for o in out.values() if isinstance(o, dict)),
        ]
        print(" ".join(f"{'' if cell is None else cell:>{width}}"
                       for cell, (_, width) in zip(cells, columns, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
