"""`stores-api serve --workers N`: gunicorn with uvicorn workers."""

import http.client
import threading
import time
from urllib.parse import urlsplit

from tests.http import call, register_and_login
from tests.live_server import SERVICE_HASH_COST, live_server, stop

LOGINS = 32  # each one hashes a password: enough work to be in flight at SIGTERM


def test_workers_serve_after_one_migration(tmp_path, new_database):
    with live_server(tmp_path, new_database("workers"), workers=2) as server:
        tokens = register_and_login(server.api, "worker-user")
        for _ in range(10):
            assert call("GET", f"{server.api}/users/me", token=tokens["access_token"]).status == 200
        log = server.log()
    assert log.count("Booting worker") == 2
    # Migrated once by the command, before gunicorn forked a single worker.
    assert log.count("Running upgrade  -> 0001") == 1
    assert log.index("Running upgrade") < log.index("Booting worker")


def test_sigterm_lets_in_flight_requests_finish(tmp_path, new_database):
    # Every login waits for a password thread rather than getting 503: what is
    # in flight at SIGTERM is what must finish.
    with live_server(tmp_path, new_database("sigterm"), workers=2,
                     PASSWORD_HASH_WAITING=str(LOGINS), **SERVICE_HASH_COST) as server:
        register_and_login(server.api, "patient")
        address = urlsplit(server.url)
        sent = threading.Barrier(LOGINS + 1, timeout=60)
        replies, finished_at = [], []

        def login():
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
            connection.request("POST", "/api/v1/auth/login",
                               body=b'{"username": "patient", "password": "long-enough-pw"}',
                               headers={"Content-Type": "application/json"})
            sent.wait()
            response = connection.getresponse()
            replies.append(response.status)
            finished_at.append(time.monotonic())
            connection.close()

        threads = [threading.Thread(target=login) for _ in range(LOGINS)]
        for thread in threads:
            thread.start()
        sent.wait()  # every request is on the wire
        time.sleep(0.3)  # and accepted by a worker
        terminated_at = time.monotonic()
        exit_code = stop(server)
        for thread in threads:
            thread.join(timeout=60)

    assert exit_code == 0
    assert replies == [200] * LOGINS
    assert max(finished_at) > terminated_at, "no request was still in flight at SIGTERM"
