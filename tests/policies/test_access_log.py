"""The access log's lines go out in batches, none later than its bound, and
request ids are unique without a system call each."""

import io
import json
import logging
import re
import time

import pytest

from api.policies.access_log import ACCESS_LOGGER, RequestIds
from api.process.logs import ACCESS_FLUSH_SECONDS, LineBatches
from tests.conftest import bearer


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


@pytest.fixture
def access_stream():
    """What the access log writes to stderr, counted write by write."""
    batches = [h for h in logging.getLogger(ACCESS_LOGGER).handlers if isinstance(h, LineBatches)]
    assert batches, "the access logger writes through LineBatches"
    stream = CountingStream()
    batches[0].flush()  # what earlier tests left waiting goes where it was going
    previous = batches[0].target.setStream(stream)
    yield batches[0], stream
    batches[0].flush()
    batches[0].target.setStream(previous)


def test_many_lines_go_out_in_few_writes(client, auth, access_stream):
    batches, stream = access_stream
    started = time.monotonic()
    for _ in range(20):
        assert client.get("/api/v1/stores", headers=auth).status_code == 200
    elapsed = time.monotonic() - started
    batches.flush()
    lines = [line for line in stream.lines() if line["path"] == "/api/v1/stores"]
    assert len(lines) == 20
    # One write per request before; now the last batch's, and one for each
    # periodic flush that fell while the requests ran (however slow the machine).
    assert stream.writes <= 2 + int(elapsed / ACCESS_FLUSH_SECONDS)
    assert stream.writes < 20


def test_a_line_goes_out_within_the_bound_with_no_more_requests(
        threaded_client, auth, access_stream):
    _, stream = access_stream
    response = threaded_client.get("/api/v1/stores", headers=auth)
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + ACCESS_FLUSH_SECONDS + 5
    while request_id not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [line["status"] for line in stream.lines() if line["request_id"] == request_id] == [200]


def test_a_full_batch_goes_out_in_one_write():
    stream = CountingStream()
    batches = LineBatches(capacity=4, target=logging.StreamHandler(stream))
    logger = logging.getLogger("tests.access_batches")
    logger.addHandler(batches)
    try:
        for n in range(6):
            logger.warning(json.dumps({"n": n}))
        assert (stream.writes, [line["n"] for line in stream.lines()]) == (1, [0, 1, 2, 3])
        batches.close()  # at exit: the rest
        assert (stream.writes, [line["n"] for line in stream.lines()]) == (2, list(range(6)))
    finally:
        logger.removeHandler(batches)


def test_request_ids_are_unique_and_32_hex_digits(client, user, tokens):
    ids = [client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
           .headers["x-request-id"] for _ in range(5)]
    assert len(set(ids)) == 5
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)


def test_each_process_numbers_its_requests_under_a_prefix_of_its_own():
    first, second = RequestIds(), RequestIds()
    a, b = first.next(), first.next()
    assert a[:16] == b[:16] and int(b[16:], 16) == int(a[16:], 16) + 1
    assert second.next()[:16] != a[:16]
