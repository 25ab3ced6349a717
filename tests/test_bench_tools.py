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
