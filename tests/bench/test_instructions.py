"""The measuring tools still measure: `make instructions` drives the service
in process, through ASGI, as a server would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.seams import SEAMS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_instruction_harness_serves_a_scenario_in_process(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.db'}",
           "INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--profile", "put_item", "--requests", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "function calls" in done.stderr  # the profile of the 5 requests
    assert done.stderr.count('"status": 200') >= 5 + 50  # warm-up and measured, all 200


@pytest.mark.slow
@pytest.mark.parametrize("seam", SEAMS)
def test_each_seam_kept_for_speed_can_be_undone_and_the_service_still_answers(tmp_path, seam):
    """What `--seams` counts: the service as Connexion ships that part (docs/development.md)."""
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path), "SEAMS_OFF": seam}
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--profile", "put_item", "--requests", "3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count('"status": 200') >= 3 + 50


@pytest.mark.slow
def test_metrics_alone_writes_what_a_request_writes_to_the_workers_files(tmp_path):
    """`make instructions`' measure of the metrics' cost does what a request
    does to them: one observation each, into the files a scrape sums."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--inner", "metrics_alone",
         "--requests", "5"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    scraped = subprocess.run(
        [sys.executable, "-c", "from api.process.metrics import exposition; "
                               "print(exposition()[0].decode())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert scraped.returncode == 0, scraped.stderr[-2000:]
    assert ('http_server_request_duration_seconds_count{http_request_method="GET",'
            'http_response_status_code="200",operation_id="getStore"} 55.0') in scraped.stdout
    assert "http_server_active_requests 0.0" in scraped.stdout


def _run(cpu: float, disturbed: bool = False) -> dict:
    return {"requests_per_second": 100.0, "server_cpu_ms_per_request": cpu, "p50_ms": 10.0,
            "p99_ms": 20.0, "errors": 0, "disturbed": disturbed}


def test_cpu_is_compared_round_by_round_as_well_as_by_medians():
    from bench.run import summary

    # A machine that slowed down between rounds: each round, the service
    # spends 0.9x the reference's CPU per request... at most.
    out = summary({"service": [_run(3.0), _run(5.0), _run(4.6), _run(9.0, disturbed=True)],
                   "flask": [_run(2.7), _run(4.5), _run(3.0), _run(9.9)]})
    assert out["cpu_x_flask"] == round(3.75 / 4.6, 3)  # medians of different rounds
    paired = out["cpu_x_flask_paired"]
    assert paired["median"] == 0.9  # the disturbed round left out
    assert paired["spread"] == round((0.9 - 3.0 / 4.6) / 0.9, 3)
