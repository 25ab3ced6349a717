"""A TypeScript client generated from the spec (openapi-typescript types,
openapi-fetch calls, checked by the TypeScript compiler) drives the whole flow
against a live server, run by Node."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.contract.node import require_node
from tests.live_server import live_server

PROJECT = Path(__file__).resolve().parent / "typescript"


def npm(*args, env=None, timeout=600):
    result = subprocess.run(["npm", "--no-fund", "--no-audit", *args], cwd=PROJECT,
                            env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def typescript_flow():
    require_node("the TypeScript client test")
    npm("ci")
    npm("run", "generate")
    npm("run", "build")  # tsc: the flow type-checks against the generated client


def test_a_generated_typescript_client_runs_the_whole_flow(typescript_flow, tmp_path, new_database):
    with live_server(tmp_path, new_database("typescript"), VALIDATE_RESPONSES="true") as live:
        result = npm("run", "flow", env={**os.environ, "STORES_API_URL": live.url}, timeout=120)
    assert "typescript flow: ok" in result.stdout
