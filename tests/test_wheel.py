"""The wheel is the service: built, installed into a fresh virtual environment,
and run from an empty folder, with nothing found beside a checkout."""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.http import call
from tests.live_server import LiveServer, free_port, stop, wait_until_healthy

PROJECT = Path(__file__).resolve().parents[1]
INSTALL_SECONDS = 600


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv with only the built wheel (and its dependencies)."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--wheel-dir", str(root / "dist"), str(PROJECT)],
                   check=True, timeout=INSTALL_SECONDS)
    (wheel,) = (root / "dist").glob("stores_api-*.whl")
    venv.create(root / "venv", with_pip=True)
    subprocess.run([root / "venv" / "bin" / "pip", "install", "--quiet", str(wheel)],
                   check=True, timeout=INSTALL_SECONDS)
    return root / "venv" / "bin"


def run(bin_dir: Path, folder: Path, *args, **kwargs):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(kwargs.pop("env", {}))
    return subprocess.run([bin_dir / "stores-api", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_the_installed_wheel_migrates_checks_makes_an_admin_and_serves(installed, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    python = installed / "python"
    where = subprocess.run([python, "-c", "import api, openapi, migrations; "
                            "print(api.__file__, openapi.SPEC_PATH, migrations.__file__)"],
                           cwd=folder, capture_output=True, text=True, check=True)
    assert str(PROJECT) not in where.stdout  # the installed copy, not the checkout
    # The service runs without the benchmark's Flask reference or the test tools.
    for extra in ("flask", "pytest", "schemathesis"):
        absent = subprocess.run([python, "-c", f"import {extra}"], cwd=folder, capture_output=True)
        assert absent.returncode != 0, f"{extra} is installed with the service"

    upgraded = run(installed, folder, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (folder / "instance" / "stores.db").exists()  # in the working directory
    checked = run(installed, folder, "openapi", "check")
    assert checked.returncode == 0, checked.stderr
    assert "all resolved" in checked.stdout
    admin = run(installed, folder, "create-admin", "boss", "--password-stdin",
                input="long-enough-password\n")
    assert admin.returncode == 0, admin.stderr

    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [installed / "stores-api", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", log_path, process, dict(os.environ))
    try:
        wait_until_healthy(server)
        assert call("GET", f"{server.api}/health").status == 200
        login = call("POST", f"{server.api}/auth/login",
                     {"username": "boss", "password": "long-enough-password"})
        assert login.status == 200
        for page in ("ui/", "ui/swagger-ui-bundle.js", "openapi.json", "docs",
                     "docs/redoc.standalone.js", "rapidoc", "rapidoc/rapidoc-min.js"):
            assert call("GET", f"{server.api}/{page}").status == 200, page
    finally:
        stop(server)
