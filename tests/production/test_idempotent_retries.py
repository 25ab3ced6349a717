"""Idempotency-Key against a real server with two workers: a crowd of
identical retries creates one store, and a client whose connection dropped
before it read its answer gets that answer on its retry."""

import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from tests.http import call, register_and_login

# The module's server (tests/conftest.py): two gunicorn workers.
SERVER_OPTIONS = {"workers": 2}
PARALLEL = 20


def stores_named(server, token, name) -> list[dict]:
    page = call("GET", f"{server.api}/stores?name={name}", token=token).json()
    return [store for store in page["data"] if store["name"] == name]


def test_20_parallel_posts_with_one_key_make_one_store(server):
    token = register_and_login(server.api, "retrier")["access_token"]
    key = str(uuid.uuid4())

    def create(_):
        return call("POST", f"{server.api}/stores", {"name": "Once"}, token=token,
                    headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        replies = list(pool.map(create, range(PARALLEL)))
    created = [reply for reply in replies if reply.status == 201]
    assert {reply.status for reply in replies} <= {201, 409}, [r.status for r in replies]
    assert created, "no request got through"
    assert len({reply.body for reply in created}) == 1  # the same answer, byte for byte
    assert len({reply.headers["location"] for reply in created}) == 1
    assert len(stores_named(server, token, "Once")) == 1


def test_a_retry_after_a_dropped_connection_gets_the_first_answer(server):
    token = register_and_login(server.api, "dropper")["access_token"]
    key = str(uuid.uuid4())
    body = json.dumps({"name": "Dropped"}).encode()
    url = urlsplit(server.api)
    request = (f"POST {url.path}/stores HTTP/1.1\r\nHost: {url.netloc}\r\n"
               f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + 30
        while not stores_named(server, token, "Dropped") and time.monotonic() < deadline:
            time.sleep(0.05)
        # The store exists; the connection now drops with its answer unread.
    (store,) = stores_named(server, token, "Dropped")
    # Without the key this retry would be 409 (the name is taken); with it,
    # it is the first request's own answer.
    retry = call("POST", f"{server.api}/stores", {"name": "Dropped"}, token=token,
                 headers={"Idempotency-Key": key})
    if retry.status == 409 and "in progress" in retry.json()["detail"]:
        time.sleep(1)  # created, its answer not yet kept
        retry = call("POST", f"{server.api}/stores", {"name": "Dropped"}, token=token,
                     headers={"Idempotency-Key": key})
    assert retry.status == 201, retry.body
    assert retry.json()["id"] == store["id"]
    assert retry.headers["location"].endswith(f"/stores/{store['id']}")
