"""Hostile requests against a real server: what the in-process client cannot
send (chunked framing on the wire, a Host of the caller's choosing, forwarded
headers from an untrusted peer) and what only the server writes (its banner)."""

import contextlib
import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.http import call
from tests.live_server import live_server

SECRET = "my-password-1"


def raw_request(server, method: str, path: str, headers: dict, body=None):
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers, encode_chunked=body is not None
                           and not isinstance(body, bytes))
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_a_real_server_reads_chunked_bodies_and_trusts_no_caller_header(tmp_path, new_database):
    access_log = tmp_path / "access.log"
    with live_server(tmp_path, new_database("hostile"), ACCESS_LOG=str(access_log)) as server:
        body = json.dumps({"username": "chunky", "password": SECRET}).encode()
        status, headers, _ = raw_request(
            server, "POST", "/api/v1/auth/register",
            {"Content-Type": "application/json"}, iter([body[:10], body[10:]]))
        assert status == 201
        assert "server" not in headers
        assert headers["x-content-type-options"] == "nosniff"

        token = call("POST", f"{server.api}/auth/login",
                     {"username": "chunky", "password": SECRET}).json()["access_token"]
        for n in range(2):
            assert call("POST", f"{server.api}/stores", {"name": f"shop {n}"}, token=token).status == 201
        status, headers, _ = raw_request(
            server, "GET", "/api/v1/stores?limit=1",
            {"Host": "evil.example", "X-Forwarded-Host": "evil.example",
             "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
             "Authorization": f"Bearer {token}"})
        assert status == 200
        assert headers["link"].startswith(f"<{server.url}/api/v1/stores?")
        status, headers, _ = raw_request(server, "GET", "/api/v1/stores/", {"Host": "evil.example"})
        assert status == 307 and headers["location"].startswith(server.url)

        chunks = iter([b'{"name": "' + b"x" * 65_536] * 5 + [b'"}'])
        status, headers, body = raw_request(
            server, "POST", "/api/v1/stores",
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}, chunks)
        assert status == 413 and headers["content-type"] == "application/problem+json"

    log = server.log() + access_log.read_text()
    assert SECRET not in log and token not in log
    assert "203.0.113.9" not in access_log.read_text()  # the peer is not a trusted proxy


def test_a_trusted_proxy_names_the_client(tmp_path, new_database):
    access_log = tmp_path / "access.log"
    with live_server(tmp_path, new_database("proxied"), ACCESS_LOG=str(access_log),
                     TRUSTED_PROXIES="127.0.0.1", PUBLIC_URL="https://shop.example") as server:
        status, _, _ = raw_request(server, "GET", "/api/v1/health", {"X-Forwarded-For": "203.0.113.9"})
        assert status == 200
        status, headers, _ = raw_request(server, "GET", "/api/v1/stores/", {"Host": "evil.example"})
        assert headers["location"].startswith("https://shop.example/api/v1/stores")
    assert "203.0.113.9" in access_log.read_text()


def server_rss_kib(server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def health_latencies(server, stop: threading.Event, seen: list[float]) -> None:
    """/health, one after another until `stop` (at most 2,000 calls)."""
    for _ in range(2_000):
        if stop.is_set():
            return
        started = time.monotonic()
        assert call("GET", f"{server.api}/health", timeout=30).status == 200
        seen.append(time.monotonic() - started)


@pytest.mark.parametrize("workers", [0, 2])  # uvicorn alone, and gunicorn's workers
def test_a_huge_header_is_cut_off_early_and_answered_431(tmp_path, new_database, workers):
    with live_server(tmp_path, new_database("huge-head"), workers=workers) as server:
        call("GET", f"{server.api}/health")
        before = server_rss_kib(server)
        stop, latencies = threading.Event(), []
        prober = threading.Thread(target=health_latencies, args=(server, stop, latencies))
        prober.start()
        sent = 0
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Huge: ")
            chunk = b"a" * 65_536
            try:
                while sent < 100 * 1024 * 1024:  # 100 MB, unless the server closes first
                    sock.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = sock.recv(65_536)
        time.sleep(0.5)
        stop.set()
        prober.join(timeout=60)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert b"application/problem+json" in answer
        assert b"the request head is larger than" in answer
        assert sent < 4 * 1024 * 1024, f"the server read {sent} bytes of a head"
        if not workers:  # with gunicorn, the process started is the master
            assert server_rss_kib(server) - before < 8 * 1024
        assert latencies and max(latencies) < 1.0, max(latencies)
        assert call("GET", f"{server.api}/health").status == 200


def test_a_body_that_never_completes_is_closed_with_408(tmp_path, new_database):
    with live_server(tmp_path, new_database("slow-body"), REQUEST_BODY_TIMEOUT_SECONDS="1") as server:
        port = int(server.url.rsplit(":", 1)[1])
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
        try:
            started = time.monotonic()
            for sock in sockets:
                sock.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            for _ in range(3):  # a byte now and then, never the hundredth
                time.sleep(0.4)
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.sendall(b" ")
            answers = [sock.recv(4096) for sock in sockets]
            assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[:2]
            assert all(sock.recv(4096) == b"" for sock in sockets)  # closed
            assert time.monotonic() - started < 8
        finally:
            for sock in sockets:
                sock.close()
        # A body that arrives in time is read as ever.
        assert call("POST", f"{server.api}/auth/register",
                    {"username": "patient", "password": "long-enough-pw"}).status == 201


def test_a_head_that_never_completes_is_closed_with_408(tmp_path, new_database):
    with live_server(tmp_path, new_database("slow-head"), REQUEST_HEAD_TIMEOUT_SECONDS="1") as server:
        port = int(server.url.rsplit(":", 1)[1])
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
        try:
            started = time.monotonic()
            for sock in sockets:
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
            for _ in range(3):  # a header line now and then, never the blank line
                time.sleep(0.4)
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.sendall(b"X-Slow: still-coming\r\n")
            answers = [sock.recv(4096) for sock in sockets]
            assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[:2]
            assert all(sock.recv(4096) == b"" for sock in sockets)  # closed
            assert time.monotonic() - started < 8
        finally:
            for sock in sockets:
                sock.close()
        # A request that completes its head in time is served as ever.
        assert call("GET", f"{server.api}/health").status == 200
