"""/metrics under gunicorn: one scrape sums every worker, a start empties the
directory, a dead worker's live gauges leave the sum and its counts stay."""

import http.client
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from tests.http import call
from tests.live_server import live_server, worker_pids

REQUESTS = 1_000
CLIENTS = 8
LOAD_SECONDS = 120
HEALTH = (("http_request_method", "GET"), ("http_response_status_code", "200"),
          ("operation_id", "getHealth"))


def scrape(server) -> dict[str, dict[tuple, float]]:
    reply = call("GET", f"{server.url}/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def health_count(server) -> float:
    return scrape(server).get("http_server_request_duration_seconds_count", {}).get(HEALTH, 0.0)


def settled(server) -> float:
    """The health checks of the server's start, once all of them are counted
    (the count has not moved for half a second)."""
    deadline = time.monotonic() + 10
    count = counted(server, 1)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if (again := health_count(server)) == count:
            return count
        count = again
    raise AssertionError("the start's health checks were still being counted after 10 s")


def counted(server, at_least: float) -> float:
    """The health checks counted once `at_least` are: a request is counted
    as its answer ends, a moment after its client has read it."""
    deadline = time.monotonic() + 10
    while (count := health_count(server)) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def send_health_checks(server, total: int) -> int:
    """`total` GET /health over CLIENTS kept-alive connections; the 200s."""
    address = urlsplit(server.url)
    deadline = time.monotonic() + LOAD_SECONDS

    def client(share: int) -> int:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        ok = 0
        try:
            for _ in range(share):
                assert time.monotonic() < deadline, "the load took too long"
                connection.request("GET", "/api/v1/health")
                response = connection.getresponse()
                response.read()
                ok += response.status == 200
        finally:
            connection.close()
        return ok

    shares = [total // CLIENTS + (n < total % CLIENTS) for n in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        return sum(pool.map(client, shares))


def pids_in(directory: Path) -> set[int]:
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("*.db")}


def test_one_scrape_sums_four_workers(tmp_path):
    directory = tmp_path / "metrics"
    with live_server(tmp_path, workers=4, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        before = settled(server)  # the start's own health checks
        assert send_health_checks(server, REQUESTS) == REQUESTS
        assert counted(server, before + REQUESTS) == before + REQUESTS
        # The requests were spread: several workers wrote counts.
        assert len(pids_in(directory) & set(worker_pids(server))) >= 2
        metrics = scrape(server)
        assert metrics["http_server_active_requests"][()] == 0  # a scrape is not traffic
        assert metrics["stores_api_db_pool_size"][()] >= 4  # each worker's pool
        assert len(metrics["stores_api_build_info"]) == 1  # no pid label: one series


def test_a_dead_workers_gauges_leave_its_counts_stay(tmp_path):
    directory = tmp_path / "metrics"
    with live_server(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        assert send_health_checks(server, 200) == 200
        before = counted(server, 201)
        victim = worker_pids(server)[0]
        assert list(directory.glob(f"gauge_livesum_{victim}.db"))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = worker_pids(server)
            if victim not in pids and len(pids) == 2:
                break
            time.sleep(0.1)
        assert victim not in worker_pids(server)
        assert not list(directory.glob(f"gauge_livesum_{victim}.db"))  # marked dead
        assert list(directory.glob(f"counter_{victim}.db")) or \
            list(directory.glob(f"histogram_{victim}.db"))
        assert health_count(server) >= before  # nothing it counted was lost


def test_a_start_empties_the_directory_of_an_earlier_run(tmp_path):
    directory = tmp_path / "metrics"
    with live_server(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        assert send_health_checks(server, 300) == 300
        first_run = health_count(server)
    assert first_run >= 300 and list(directory.glob("*.db"))
    with live_server(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        assert health_count(server) < 300 / 10  # only this start's own checks


def test_an_empty_multiprocess_directory_is_unset_for_the_metrics_too(tmp_path, new_database):
    """PROMETHEUS_MULTIPROC_DIR= (set, empty) is read one way: as unset, as
    every setting is. prometheus-client took it for the working directory,
    wrote its files there and answered /metrics with 500."""
    with live_server(tmp_path, new_database("metrics-empty"),
                     PROMETHEUS_MULTIPROC_DIR="") as server:
        assert call("GET", f"{server.api}/health").status == 200
        assert health_count(server) >= 1
    assert sorted(path.name for path in tmp_path.glob("*.db")) == []
