"""The measuring tools still measure: `make instructions` drives the service
in process, through ASGI, as a server would."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_instruction_harness_serves_a_scenario_in_process(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.db'}",
           "INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--profile", "put_item", "--requests", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "function calls" in done.stderr  # the profile of the 5 requests
    assert done.stderr.count('"status": 200') >= 5 + 50  # warm-up and measured, all 200


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
