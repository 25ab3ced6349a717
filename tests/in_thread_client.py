"""A test client that runs the app in the test's own thread.

Starlette's TestClient (what Connexion's `app.test_client()` returns) runs
the app in an event loop on a thread of its own and hands every ASGI
message across to it: about eight thread switches a request. A POST of a
store took 2.7 ms through it and takes 2.0 through this one, a lifespan 5.2
and 0.9 ms. This one keeps its event loop in the
caller's thread and runs it while a request is answered, through httpx's
own ASGI transport; the lifespan's background tasks run then too. The app
is the same and so is what it is sent: the client address, the lifespan's
state on every request, and the app's exceptions raised in the test.

It is for one thread, and the app runs only while it answers: a test that
asks from several threads at once, or waits for the app's background work
between requests, uses `threaded_client` (tests/conftest.py).
"""

import asyncio
from typing import Any

import httpx

# What Starlette's TestClient says it is: tests read it in access lines and
# rate limits key on it.
CLIENT_ADDRESS = ("testclient", 50000)


class InThreadClient(httpx.Client):
    """`with InThreadClient(app) as client:` runs the app's lifespan around
    the block, as a server or `app.test_client()` would."""

    def __init__(self, app, base_url: str = "http://testserver",
                 client: tuple[str, int] = CLIENT_ADDRESS, **kwargs):
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._lifespan = _Lifespan(app)
        transport = _InThreadTransport(self._loop, self._lifespan, client)
        super().__init__(transport=transport, base_url=base_url,
                         headers={"user-agent": "testclient"}, **kwargs)

    def __enter__(self):
        super().__enter__()
        self._loop.run_until_complete(self._lifespan.start())
        return self

    def __exit__(self, *exc_info):
        try:
            self._loop.run_until_complete(self._lifespan.stop())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()
            super().__exit__(*exc_info)


class _Lifespan:
    """The ASGI lifespan protocol, as a server speaks it; `state` is what
    the app's lifespan yields, copied into every request's scope."""

    def __init__(self, app):
        self.app = app
        self.state: dict[str, Any] = {}
        self._messages: asyncio.Queue = asyncio.Queue()
        self._answers: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._task = asyncio.create_task(self.app(scope, self._messages.get, self._answers.put))
        await self._step("lifespan.startup")

    async def stop(self) -> None:
        await self._step("lifespan.shutdown")
        await self._task

    async def _step(self, message: str) -> None:
        await self._messages.put({"type": message})
        answer = await self._answers.get()
        if answer["type"] != f"{message}.complete":
            raise RuntimeError(answer.get("message", answer["type"]))

    async def with_state(self, scope, receive, send) -> None:
        await self.app({**scope, "state": dict(self.state)}, receive, send)


class _InThreadTransport(httpx.BaseTransport):
    def __init__(self, loop: asyncio.AbstractEventLoop, lifespan: _Lifespan,
                 client: tuple[str, int]):
        self._loop = loop
        self._asgi = httpx.ASGITransport(lifespan.with_state, client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A body given as an iterator reaches the app in one piece.
        request.stream = httpx.ByteStream(b"".join(request.stream))
        response = self._loop.run_until_complete(self._answer(request))
        return response

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)
