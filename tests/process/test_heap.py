"""A serving process settles its heap once its app is built (api/process/heap.py):
checked in a fresh interpreter for each way the service is served."""

import json
import subprocess
import sys

import pytest

from api.process.heap import YOUNG_GENERATION_THRESHOLD
from tests.live_server import server_env

# What the process's collector holds after the app a server would run is built.
REPORT = """
import gc, json
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects()),
                  "threshold": gc.get_threshold()}))
"""
# `stores-api serve` (one process): the app the command hands uvicorn, as
# the server it runs has it.
BY_UVICORN = """
from api import server

def run(self, sockets=None):
    self.config.load()
    exec(REPORT)

server.DrainingServer.run = run
from api.cli import main
main(["serve", "--port", "1"])
"""
# `stores-api serve --workers N`: what each gunicorn worker loads after the fork.
BY_GUNICORN = """
from api.runtime.config import Settings
from api.server import GunicornServer
GunicornServer(Settings(), "127.0.0.1", 1, 2).load()
exec(REPORT)
"""


@pytest.mark.slow
@pytest.mark.parametrize("script", [BY_UVICORN, BY_GUNICORN], ids=["uvicorn", "gunicorn"])
def test_a_serving_process_freezes_its_app_and_collects_young_objects_less_often(
        tmp_path, script):
    result = subprocess.run([sys.executable, "-c", f"REPORT = {REPORT!r}\n{script}"],
                            env=server_env(tmp_path, None), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    heap = json.loads(result.stdout.splitlines()[-1])
    # The app's graph is in the permanent generation: collections walk the rest.
    assert heap["frozen"] > 50_000
    assert heap["tracked"] < heap["frozen"] / 10
    assert heap["threshold"][0] == YOUNG_GENERATION_THRESHOLD == 2000
