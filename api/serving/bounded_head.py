"""uvicorn's httptools protocol, with bounds on a request's head (its
request line and headers) that the app cannot set, because the parser reads
a head whole before the app sees any of it, and on the time its body takes:

- At most MAX_HEAD_BYTES. httptools builds a header value by appending, so a
  100 MB header line cost 137 MB and stalled the event loop for seconds
  before the app's own 431 could answer. Here the bytes of a head are
  counted as they arrive, and once a head is still incomplete past the
  bound the connection answers 431 and closes, without reading the rest.
- Complete within `head_timeout` seconds (REQUEST_HEAD_TIMEOUT_SECONDS,
  given to each protocol by api/server.py) of the connection opening, or of
  the previous request ending. A client that sends a header line every few
  seconds kept its connection open for as long as it liked (uvicorn's
  keep-alive timer is disarmed by every byte that arrives); here it gets
  408 and the connection closes.
- A body complete within `body_timeout` seconds (REQUEST_BODY_TIMEOUT_SECONDS)
  of its head. A client sending a byte every few seconds held its connection
  (and the handler waiting for the body) for as long as it liked; here it
  gets 408, unless the app has answered already, and the connection closes.

The app's own checks (api/policies/request_guard.py: 414 past 8 KiB of URL, 431 past
32 KiB of headers) still answer heads within the bound, in the app's words.

Served by `stores-api serve` (uvicorn's `http` option) and by the gunicorn
worker (api/server.py). It overrides uvicorn's protocol callbacks, which
uvicorn does not document as an extension point: tests/test_connexion_seams.py
and tests/production/test_hostile_requests.py fail if an upgrade moves them.
"""

import json
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.policies.request_guard import MAX_HEADER_BYTES, MAX_URL_BYTES

# The URL and the headers the app accepts, and room for the request line,
# the header names' separators and line ends.
MAX_HEAD_BYTES = MAX_URL_BYTES + MAX_HEADER_BYTES + 8 * 1024


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args, head_timeout: float, body_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout, self.body_timeout = head_timeout, body_timeout  # seconds
        self._body_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        # Counted whole, checked once parsed: a read that holds the end of a
        # head and the start of a body is no head too large. The parser sees
        # at most one read (256 KiB) past the bound.
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_bytes is not None and self._head_bytes > MAX_HEAD_BYTES:
            self._refuse(431, f"the request head is larger than {MAX_HEAD_BYTES} bytes")

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()
        # Cancelled by the message's end, in this same read for a request without a body.
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._body_done()
        super().on_message_complete()
        # What arrives next is the next request's head.
        self._await_head()

    def connection_lost(self, exc) -> None:
        self._head_done()
        self._body_done()
        super().connection_lost(exc)

    def _body_done(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.cycle is not None and self.cycle.response_started:
            if self.cycle.response_complete:
                self.transport.close()  # answered; the rest of the body is never read
            return  # an answer is on its way: it closes the connection when done
        self._refuse(408, f"the request body did not arrive within {self.body_timeout:g} s")

    def _await_head(self) -> None:
        self._head_done()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_done(self) -> None:
        self._head_bytes = None
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still on its way; its head arrived long ago
        self._refuse(408, f"the request head did not arrive within {self.head_timeout:g} s")

    def _refuse(self, status: int, detail: str) -> None:
        """A problem+json answer, then the connection closes: what is left of
        the head is never read."""
        self._head_done()
        if self.transport.is_closing():
            return
        phrase = HTTPStatus(status).phrase
        body = json.dumps({"type": "about:blank", "title": phrase, "status": status,
                           "detail": detail}).encode()
        self.transport.write(b"".join([
            f"HTTP/1.1 {status} {phrase}\r\n".encode(),
            b"content-type: application/problem+json\r\n",
            f"content-length: {len(body)}\r\n".encode(),
            b"connection: close\r\n\r\n",
            body,
        ]))
        self.transport.close()
