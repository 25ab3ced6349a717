"""The TypeScript client as client teams get it: `make client` packs it
(openapi-typescript types of the spec bound to openapi-fetch) as an npm
package; a fresh project installs that tarball, type-checks its flow against
it with the TypeScript compiler, and runs the flow against a live server."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.contract.node import require_node
from tests.contract.packages import CONTRACT_VERSION, build_client
from tests.live_server import live_server

CONSUMER = Path(__file__).resolve().parent / "typescript"


def npm(*args, cwd: Path, env=None, timeout=600):
    result = subprocess.run(["npm", "--no-fund", "--no-audit", *args], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def typescript_flow(tmp_path_factory) -> Path:
    """A fresh npm project with the packed client installed and the flow compiled."""
    require_node("the TypeScript client test")
    root = tmp_path_factory.mktemp("typescript")
    tarball = build_client("typescript", root / "dist")
    assert tarball.name == f"stores-api-client-{CONTRACT_VERSION}.tgz"
    project = root / "project"
    shutil.copytree(CONSUMER, project, ignore=shutil.ignore_patterns("node_modules", "dist"))
    npm("ci", cwd=project)
    npm("install", "--no-save", str(tarball), cwd=project)
    installed = project / "node_modules" / "stores-api-client"
    assert not installed.is_symlink()  # the tarball's copy, not a link to a source folder
    assert '"version": "' + CONTRACT_VERSION + '"' in (installed / "package.json").read_text()
    npm("run", "build", cwd=project)  # tsc: the flow type-checks against the package
    return project


def test_the_npm_package_runs_the_whole_flow_from_a_fresh_project(typescript_flow, tmp_path,
                                                                  new_database):
    with live_server(tmp_path, new_database("typescript"), VALIDATE_RESPONSES="true") as live:
        result = npm("run", "flow", cwd=typescript_flow,
                     env={**os.environ, "STORES_API_URL": live.url}, timeout=120)
    assert "typescript flow: ok" in result.stdout
