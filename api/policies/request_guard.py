"""What every request must be before Connexion routes it.

- Its URL fits in MAX_URL_BYTES (414), its headers in MAX_HEADER_BYTES (431)
  and its body in `max_body_bytes` (413), counted while the body is read, so a
  chunked body is bounded too. (Past about 64 KiB of URL, uvicorn's parser
  itself answers a plain-text 400 before any of this runs.)
- Its Content-Type is read as RFC 9110 says: the media type regardless of case,
  and a body without one is `application/octet-stream`. Connexion then answers
  415 where the operation does not take that type, and picks its validators by
  the lower-case name, so `Application/JSON` can no longer slip a body past them.
  Bodies are UTF-8 (RFC 8259): any other charset is 415. A Content-Type with
  a byte that is not printable ASCII is not a media type at all: 400.
- Its Host is ours: absolute URLs (the `Link` of a page, a redirect's
  `Location`) are built from PUBLIC_URL, or from the address the server listens
  on, never from a Host or X-Forwarded-Host header a caller chose.
"""

import re
from urllib.parse import urlsplit

from connexion.exceptions import ProblemException, UnsupportedMediaTypeProblem

from api.contract.problems import api_problem

# Longer than any URL of this API (ids, two filters, a 512-byte cursor).
MAX_URL_BYTES = 8192
# A token, the docs' browser headers and a proxy's additions, many times over.
MAX_HEADER_BYTES = 32 * 1024
UTF_8 = {"utf-8", "utf8"}
# Printable ASCII: a media type's tokens are ASCII (RFC 9110, 8.3.1), and
# none of the parameters this API reads (charset) takes other bytes.
MEDIA_TYPE_BYTES = re.compile(rb"[\t\x20-\x7e]*")
# The headers that say whether there is a body and what it is; the last of
# each counts, and only it is passed on.
FRAMING_HEADERS = (b"content-type", b"content-length", b"transfer-encoding")


def payload_too_large(limit: int) -> ProblemException:
    return api_problem(413, f"the request body is larger than {limit} bytes")


class RequestGuard:
    def __init__(self, app, max_body_bytes: int, public_url: str | None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.public = urlsplit(public_url) if public_url else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > MAX_URL_BYTES:
            raise api_problem(414, f"the URL is longer than {MAX_URL_BYTES} bytes")
        if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
            raise api_problem(431, f"the headers are larger than {MAX_HEADER_BYTES} bytes")
        framing = {name: value for name, value in scope["headers"] if name in FRAMING_HEADERS}
        chunked = b"transfer-encoding" in framing
        declared_length = self._declared_length(framing.get(b"content-length"))
        content_type = _normalised_content_type(
            framing.get(b"content-type"), has_body=chunked or bool(declared_length))
        headers = [(name, value) for name, value in scope["headers"]
                   if name not in FRAMING_HEADERS and name != b"host"]
        headers += [(name, value) for name, value in framing.items() if name != b"content-type"]
        if content_type is not None:
            headers.append((b"content-type", content_type))
        headers.append((b"host", self._host(scope)))
        scope = {**scope, "headers": headers}
        if self.public:
            scope["scheme"] = self.public.scheme
        if declared_length is not None or chunked:
            receive = self._bounded(receive)
        await self.app(scope, receive, send)

    def _declared_length(self, value: bytes | None) -> int | None:
        if value is None:
            return None
        if not value.isdigit():
            raise api_problem(400, "the Content-Length header is not a number")
        if int(value) > self.max_body_bytes:
            raise payload_too_large(self.max_body_bytes)
        return int(value)

    def _bounded(self, receive):
        limit, received = self.max_body_bytes, 0

        async def bounded_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise payload_too_large(limit)
            return message

        return bounded_receive

    def _host(self, scope) -> bytes:
        if self.public:
            return self.public.netloc.encode("latin-1")
        host, port = scope.get("server") or ("localhost", None)
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        default_port = {"http": 80, "https": 443}.get(scope.get("scheme"))
        return (host if port in (None, default_port) else f"{host}:{port}").encode("latin-1")


def _normalised_content_type(value: bytes | None, *, has_body: bool) -> bytes | None:
    if value is None:
        return b"application/octet-stream" if has_body else None
    if not MEDIA_TYPE_BYTES.fullmatch(value):
        raise api_problem(400, "the Content-Type header is not a media type")
    media_type, *parameters = value.decode("latin-1").split(";")
    media_type = media_type.strip().lower()
    kept = []
    for parameter in parameters:
        name, _, argument = parameter.strip().partition("=")
        name = name.strip().lower()
        if name == "charset":
            if argument.strip().strip('"').lower() not in UTF_8:
                raise UnsupportedMediaTypeProblem(detail="request bodies must be UTF-8")
        elif name:
            kept.append(f"; {name}={argument.strip()}")
    return (media_type + "".join(kept)).encode("latin-1")
