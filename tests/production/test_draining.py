"""SIGTERM, as an orchestrator sends it: /readyz turns 503 at once, the
server serves on for SHUTDOWN_DELAY_SECONDS while the load balancer takes it
out, then drains and exits."""

import http.client
import json
import signal
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.http import call
from tests.live_server import live_server

DELAY_SECONDS = 2.0
CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 400
LOAD_SECONDS = 30
# A request sent this close to the delay's end may meet the listening socket
# being closed: the kernel had queued its connection, nobody accepts it.
BOUNDARY_SECONDS = 0.2
REFUSALS = (ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
            http.client.RemoteDisconnected)


def health_load(server, stop: threading.Event, outcomes: list) -> None:
    """One client: a new connection per request, until told to stop or bounded."""
    address = urlsplit(server.url)
    deadline = time.monotonic() + LOAD_SECONDS
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if stop.is_set() or time.monotonic() > deadline:
            return
        sent_at = time.monotonic()
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            connection.request("GET", "/api/v1/health", headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
            outcome = (response.status, json.loads(body)["status"])
        except REFUSALS as exc:
            outcome = ("refused", type(exc).__name__)
            time.sleep(0.02)
        except Exception as exc:  # anything else is a defect: a cut answer, a timeout
            outcome = ("broken", repr(exc))
        finally:
            connection.close()
        outcomes.append((sent_at, outcome))


@pytest.mark.parametrize("workers", [0, 2], ids=["uvicorn", "gunicorn"])
def test_sigterm_takes_the_server_out_then_drains(tmp_path, workers):
    with live_server(tmp_path, workers=workers,
                     SHUTDOWN_DELAY_SECONDS=str(DELAY_SECONDS)) as server:
        assert call("GET", f"{server.url}/readyz").status == 200
        stop, outcomes = threading.Event(), []
        clients = [threading.Thread(target=health_load, args=(server, stop, outcomes))
                   for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        try:
            time.sleep(0.5)
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            not_ready_after = None
            while time.monotonic() < signalled + DELAY_SECONDS - 0.5:
                reply = call("GET", f"{server.url}/readyz", timeout=5)
                if reply.status == 503:
                    not_ready_after = time.monotonic() - signalled
                    assert reply.json()["checks"]["shutdown"] == "stopping: SIGTERM received"
                    assert call("GET", f"{server.url}/livez", timeout=5).status == 200
                    break
                time.sleep(0.05)
            assert not_ready_after is not None and not_ready_after < 1.0
            # uvicorn ends by raising the signal it caught again, as a process
            # without handlers would have ended; gunicorn's master exits 0.
            assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
            stopped = time.monotonic() - signalled
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=30)

    in_time = [outcome for sent_at, outcome in outcomes
               if sent_at < signalled + DELAY_SECONDS - BOUNDARY_SECONDS]
    during_delay = [sent_at for sent_at, _ in outcomes
                    if signalled < sent_at < signalled + DELAY_SECONDS - BOUNDARY_SECONDS]
    late = [outcome for sent_at, outcome in outcomes
            if sent_at >= signalled + DELAY_SECONDS - BOUNDARY_SECONDS]
    # Every request sent before the delay ended got its whole answer...
    assert in_time and all(outcome == (200, "ok") for outcome in in_time), \
        [o for o in in_time if o != (200, "ok")][:5]
    assert len(during_delay) > 20, "the load did not run through the delay"
    # ...and afterwards a caller is refused, never answered with half a reply.
    assert all(outcome == (200, "ok") or outcome[0] == "refused" for outcome in late), late[:5]
    assert DELAY_SECONDS <= stopped < DELAY_SECONDS + 10
    assert "Traceback" not in server.log()
