"""The bounded request head, driven in process on a transport that records
what the protocol writes (tests/production/test_hostile_requests.py drives
it on a real server)."""

import asyncio
import json

from uvicorn.config import Config
from uvicorn.server import ServerState

from api.serving.bounded_head import MAX_HEAD_BYTES, BoundedHeadProtocol


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written, self.closed = b"", False

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default)

    def write(self, data) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def reads_the_body(scope, receive, send):
    while (message := await receive())["type"] == "http.request" and message.get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read"})


def connected(head_timeout: float = 10.0, body_timeout: float = 30.0, app=ok
              ) -> tuple[BoundedHeadProtocol, RecordingTransport]:
    config = Config(app=app, http=BoundedHeadProtocol, lifespan="off", log_config=None)
    config.load()
    protocol = BoundedHeadProtocol(config=config, server_state=ServerState(), app_state={},
                                   _loop=asyncio.get_running_loop(), head_timeout=head_timeout,
                                   body_timeout=body_timeout)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


def problem(written: bytes) -> tuple[str, dict]:
    head, _, body = written.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def test_a_head_past_the_bound_is_answered_431_and_the_connection_closed():
    async def main():
        protocol, transport = connected()
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        protocol.data_received(b"a" * MAX_HEAD_BYTES)
        assert transport.closed
        status, body = problem(transport.written)
        assert status == "HTTP/1.1 431 Request Header Fields Too Large"
        assert body == {"type": "about:blank", "title": "Request Header Fields Too Large",
                        "status": 431,
                        "detail": f"the request head is larger than {MAX_HEAD_BYTES} bytes"}
        assert b"content-type: application/problem+json" in transport.written
        protocol.data_received(b"a" * 1024)  # what still arrives is not read
        protocol.connection_lost(None)

    asyncio.run(main())


def test_a_head_with_the_start_of_a_large_body_in_one_read_is_no_head_too_large():
    async def main():
        protocol, transport = connected()
        body = b"x" * (MAX_HEAD_BYTES + 1)
        protocol.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
                               + str(len(body)).encode() + b"\r\n\r\n" + body)
        await asyncio.sleep(0.05)
        assert transport.written.startswith(b"HTTP/1.1 200 ")
        protocol.connection_lost(None)

    asyncio.run(main())


def test_a_head_not_complete_in_time_is_answered_408():
    async def main():
        protocol, transport = connected(head_timeout=0.05)
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n")
        await asyncio.sleep(0.2)
        assert transport.closed
        status, body = problem(transport.written)
        assert status == "HTTP/1.1 408 Request Timeout"
        assert body["detail"] == "the request head did not arrive within 0.05 s"

    asyncio.run(main())


def test_the_next_request_on_a_connection_gets_a_bound_and_a_clock_of_its_own():
    async def main():
        protocol, transport = connected(head_timeout=0.2)
        for _ in range(3):  # each within its own time and size
            protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
                                   + b"p" * (MAX_HEAD_BYTES // 2) + b"\r\n\r\n")
            await asyncio.sleep(0.1)
        assert transport.written.count(b"HTTP/1.1 200 ") == 3
        assert not transport.closed
        protocol.connection_lost(None)

    asyncio.run(main())


SLOW_BODY_HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"


def test_a_body_not_complete_in_time_is_answered_408_and_closed():
    async def main():
        protocol, transport = connected(body_timeout=0.1, app=reads_the_body)
        protocol.data_received(SLOW_BODY_HEAD + b"a")
        for _ in range(3):  # a byte now and then, never the tenth
            await asyncio.sleep(0.05)
            if not transport.closed:
                protocol.data_received(b"a")
        await asyncio.sleep(0.1)
        assert transport.closed
        status, body = problem(transport.written)
        assert status == "HTTP/1.1 408 Request Timeout"
        assert body["detail"] == "the request body did not arrive within 0.1 s"
        protocol.connection_lost(None)

    asyncio.run(main())


def test_a_body_still_coming_after_its_answer_has_its_connection_closed():
    async def main():
        protocol, transport = connected(body_timeout=0.1)  # answers without reading
        protocol.data_received(SLOW_BODY_HEAD + b"a")
        await asyncio.sleep(0.2)
        assert transport.closed
        assert transport.written.count(b"HTTP/1.1 ") == 1  # its own answer, no 408 after it
        assert transport.written.startswith(b"HTTP/1.1 200 ")
        protocol.connection_lost(None)

    asyncio.run(main())


def test_a_body_in_time_is_read_and_the_connection_kept():
    async def main():
        protocol, transport = connected(body_timeout=0.1, app=reads_the_body)
        protocol.data_received(SLOW_BODY_HEAD + b"aaaaa")
        await asyncio.sleep(0.05)
        protocol.data_received(b"aaaaa")
        await asyncio.sleep(0.2)
        assert transport.written.startswith(b"HTTP/1.1 200 ") and not transport.closed
        protocol.connection_lost(None)

    asyncio.run(main())
