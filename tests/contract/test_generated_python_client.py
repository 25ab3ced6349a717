"""The Python client, as client teams get it. Generated from the running
service's /openapi.json, it has the spec's named models; built by `make
client` as a wheel and installed into a fresh virtual environment, it drives a
whole flow against a live server through its typed functions only."""

import importlib
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.contract.packages import CONTRACT_VERSION, build_client

PROJECT = Path(__file__).resolve().parents[2]
FLOW = Path(__file__).with_name("python_client_flow.py")
INSTALL_SECONDS = 600
# The module's server (tests/conftest.py) answers only what the spec allows.
SERVER_OPTIONS = {"VALIDATE_RESPONSES": "true"}


def generate_python_client(spec_url: str, output: Path) -> None:
    config = PROJECT / "openapi" / "python-client.yaml"  # the one `make client` uses
    subprocess.run(
        [str(Path(sys.executable).with_name("openapi-python-client")), "generate",
         "--url", spec_url, "--meta", "none", "--output-path", str(output),
         "--config", str(config)],
        check=True, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def stores_client(tmp_path_factory, server):
    folder = tmp_path_factory.mktemp("generated")
    generate_python_client(f"{server.api}/openapi.json", folder / "stores_client")
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("stores_client")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "stores_client"]:
            del sys.modules[name]


def test_the_client_from_the_served_spec_has_its_named_models(stores_client):
    import stores_client.models as models

    for name in ("Store", "Item", "Tag", "User", "Problem", "TokenPair", "ItemCreate"):
        assert hasattr(models, name), name
    assert not [name for name in dir(models) if name.endswith("Body")]  # no anonymous bodies


def test_the_python_client_wheel_runs_the_whole_flow_from_a_fresh_venv(tmp_path, server):
    """What `make client` ships, installed as a client team installs it: the
    wheel alone, with pip, into a virtual environment that has nothing else."""
    wheel = build_client("python", tmp_path / "dist")
    assert wheel.name == f"stores_api_client-{CONTRACT_VERSION}-py3-none-any.whl"
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, capture_output=True, timeout=INSTALL_SECONDS)

    where = subprocess.run([python, "-c", "import stores_client; print(stores_client.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(environment))  # the installed wheel, no source folder
    flow = subprocess.run([python, str(FLOW)], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "STORES_API_URL": server.api},
                          timeout=120)
    assert flow.returncode == 0, flow.stderr
    assert f"python flow: ok with stores-api-client {CONTRACT_VERSION}" in flow.stdout
