"""Headers every answer carries, whoever wrote it.

- `X-Content-Type-Options: nosniff` on everything.
- API answers hold accounts, tokens and data only their caller may see:
  `Cache-Control: no-store`, and `Vary: Authorization` since what comes back
  depends on who asks.
- The docs (Swagger UI, ReDoc, RapiDoc) get `X-Frame-Options: DENY` and a Content-
  Security-Policy that allows only this server: Swagger UI's inline script and
  style are allowed by their hashes, taken from the page as it is served, so
  the policy follows the installed Swagger UI without loosening to
  'unsafe-inline'. A page that brings its own policy (ReDoc's, RapiDoc's)
  keeps it.
"""

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders

INLINE_BLOCK = re.compile(rb"<(script|style)>(.*?)</\1>", re.DOTALL)
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {script}; style-src 'self' {style}; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class ResponseHeaders:
    def __init__(self, app, docs_prefixes: tuple[str, ...]):
        self.app = app
        self.docs_prefixes = docs_prefixes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"].startswith(self.docs_prefixes):
            return await self.app(scope, receive, self._docs_send(send))

        async def send_api(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Cache-Control"] = "no-store"
                headers.append("Vary", "Authorization")
            await send(message)

        await self.app(scope, receive, send_api)

    @staticmethod
    def _docs_send(send):
        start = None
        body = []

        async def send_docs(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                if not headers.get("content-type", "").startswith("text/html"):
                    start = None
                    await send(message)
                return
            if start is None:
                return await send(message)
            # An HTML page of the docs: held until complete, to hash its inline blocks.
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body)
            MutableHeaders(scope=start).setdefault("Content-Security-Policy", docs_policy(page))
            await send(start)
            await send({"type": "http.response.body", "body": page})

        return send_docs


def docs_policy(page: bytes) -> str:
    hashes = {b"script": [], b"style": []}
    for kind, content in INLINE_BLOCK.findall(page):
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    return DOCS_POLICY.format(script=" ".join(hashes[b"script"]), style=" ".join(hashes[b"style"]))
