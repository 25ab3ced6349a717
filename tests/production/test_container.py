"""The image and the whole stack, as the tutorial runs them (issue 42): the
Dockerfile built by podman, compose.yaml run by podman-compose, both from
Debian's packages, and used through the one port published on 127.0.0.1.

No image registry is reachable here: the Dockerfile's BASE is a Debian made
by mmdebstrap and imported, and PostgreSQL and Redis come from Debian's
packages in a second image that tests/production/compose.test.yaml starts
as their official images would start. crun refuses this kernel's mixed
cgroups and podman's default limits exceed the sandbox's: runc and lower
ulimits, in a containers.conf of the test's own. pip reaches the package
index from a build only with the host's CA bundle mounted, read-only."""

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.http import call
from tests.live_server import free_port

PROJECT = Path(__file__).resolve().parents[2]
TOOLS = ("podman", "buildah", "mmdebstrap", "runc", "podman-compose")
BASE_IMAGE = "localhost/stores-api-base:bookworm"
SERVICES_IMAGE = "localhost/stores-api-test-services:bookworm"
APP_IMAGE = "localhost/stores-api:test"
BASES = {BASE_IMAGE: "python3,python3-venv,ca-certificates",
         SERVICES_IMAGE: "postgresql-15,redis-server"}
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
"""
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
READY_SECONDS = 120
MOST_IMAGE_BYTES = 500 * 1024 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def podman(tmp_path_factory) -> dict:
    """The environment every podman command of the module runs in."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: the image and compose were not tested"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def run(env: dict, *command: str, timeout: float = 300) -> str:
    result = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def images(podman, tmp_path_factory) -> dict:
    """The two Debian bases (made once per machine) and the service's image,
    built from this checkout; their sizes."""
    for name, packages in BASES.items():
        if subprocess.run(["podman", "image", "exists", name], env=podman).returncode != 0:
            tar = tmp_path_factory.mktemp("base") / "base.tar"
            run(podman, "mmdebstrap", "--variant=minbase", f"--include={packages}", "bookworm",
                str(tar))
            run(podman, "podman", "import", str(tar), name)
            tar.unlink()
    mount = ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"] if CA_BUNDLE.exists() else []
    run(podman, "podman", "build", "--format", "docker", "--network", "host", *mount,
        "--build-arg", f"BASE={BASE_IMAGE}", "-t", APP_IMAGE, ".", timeout=600)
    return {name: int(run(podman, "podman", "image", "inspect", "--format", "{{.Size}}", name))
            for name in (BASE_IMAGE, APP_IMAGE)}


def test_the_image_runs_as_a_user_of_its_own_with_its_health_check(podman, images):
    assert images[APP_IMAGE] < MOST_IMAGE_BYTES, images
    inspected = json.loads(run(podman, "podman", "image", "inspect", APP_IMAGE))[0]
    assert inspected["Config"]["User"] == "stores-api"
    assert "/livez" in " ".join(inspected["Healthcheck"]["Test"])
    assert run(podman, "podman", "run", "--rm", APP_IMAGE, "id", "-u").strip() == "10001"


def test_the_server_drains_on_sigterm_even_as_pid_1(podman, images):
    """Python as PID 1 ignores a signal it has no handler for; the server,
    exec'd as PID 1 by the image's command, has one: a stop without an init
    process drains (1 s here) instead of waiting for podman's kill."""
    name = f"stores-api-pid1-{free_port()}"
    run(podman, "podman", "run", "-d", "--name", name, "-e", "SHUTDOWN_DELAY_SECONDS=1",
        "-e", "JWT_SECRET_KEY=pid-one-" + "k" * 40, APP_IMAGE)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while "Application startup complete" not in subprocess.run(
                ["podman", "logs", name], env=podman, capture_output=True, text=True).stderr:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        started = time.monotonic()
        run(podman, "podman", "stop", "-t", "30", name, timeout=60)
        assert time.monotonic() - started < 10
        assert run(podman, "podman", "inspect", "--format", "{{.State.ExitCode}}",
                   name).strip() == "0"
    finally:
        subprocess.run(["podman", "rm", "-f", name], env=podman, capture_output=True)


def test_compose_serves_the_stack_drains_and_leaves_nothing(podman, images):
    port = free_port()
    project = f"stores-api-test-{port}"
    env = {**podman, "SERVICES_IMAGE": SERVICES_IMAGE, "STORES_API_IMAGE": APP_IMAGE,
           "JWT_SECRET_KEY": "compose-test-" + "k" * 40, "SHUTDOWN_DELAY_SECONDS": "1",
           "PUBLISHED_PORT": f"127.0.0.1:{port}"}
    compose = ["podman-compose", "-p", project, "-f", "compose.yaml",
               "-f", "tests/production/compose.test.yaml"]
    url = f"http://127.0.0.1:{port}"
    api = f"{project}_api_1"
    try:
        # Prometheus's profile is left out: no image of it is at hand.
        run(env, *compose, "up", "-d", "db", "redis", "migrate", "api")
        _ready(url)
        _the_tutorials_flow(f"{url}/api/v1")
        assert subprocess.run(["podman", "healthcheck", "run", api], env=env).returncode == 0
        _a_stop_drains(env, api, url)
    finally:
        subprocess.run([*compose, "down", "-v", "-t", "10"], env=env, cwd=PROJECT,
                       capture_output=True, timeout=120)
        left = run(env, "podman", "ps", "-aq", "--filter",
                   f"label=io.podman.compose.project={project}")
        subprocess.run(["podman", "rm", "-f", *left.split()], env=env, capture_output=True)
        # podman-compose 1.0.3 leaves the project's network behind.
        subprocess.run(["podman", "network", "rm", f"{project}_default"], env=env,
                       capture_output=True)
    assert left.split() == []
    assert project not in run(env, "podman", "volume", "ls", "--format", "{{.Name}}")


def _ready(url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            if call("GET", f"{url}/readyz", timeout=2).status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"not ready within {READY_SECONDS} s"
        time.sleep(0.5)


def _the_tutorials_flow(api: str) -> None:
    credentials = {"username": "containered", "password": "a-long-enough-password"}
    assert call("POST", f"{api}/auth/register", credentials).status == 201
    token = call("POST", f"{api}/auth/login", credentials).json()["access_token"]
    store = call("POST", f"{api}/stores", {"name": "Shipped"}, token=token)
    assert store.status == 201
    item = call("POST", f"{api}/items", {"name": "Crate", "price": "12.50",
                                         "store_id": store.json()["id"]}, token=token)
    assert (item.status, item.json()["price"]) == (201, "12.50")


def _a_stop_drains(env: dict, api: str, url: str) -> None:
    """SIGTERM, through the init process, reaches the server: it answers
    /readyz 503 while it waits for the load balancer (1 s here), then ends
    its requests and exits 0, long before podman's 30 s would kill it."""
    stopped = {}

    def stop():
        started = time.monotonic()
        stopped["result"] = subprocess.run(["podman", "stop", "-t", "30", api], env=env,
                                           capture_output=True, timeout=60)
        stopped["seconds"] = time.monotonic() - started

    stopping = threading.Thread(target=stop)
    stopping.start()
    deadline, answers = time.monotonic() + 5, []
    while time.monotonic() < deadline and stopping.is_alive():
        try:
            answers.append(call("GET", f"{url}/readyz", timeout=1).status)
        except OSError:
            answers.append(None)
        if 503 in answers:
            break
        time.sleep(0.05)
    stopping.join(timeout=60)
    assert 503 in answers, answers
    assert stopped["result"].returncode == 0 and stopped["seconds"] < 15, stopped
    status = run(env, "podman", "inspect", "--format", "{{.State.ExitCode}}", api).strip()
    assert status == "0"
