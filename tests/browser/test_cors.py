"""CORS in a real browser: a single-page app on a listed origin logs in, reads
an ETag and sends a conditional PUT; the same page on another origin is
blocked by the browser itself."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.http import call
from tests.live_server import live_server

USERNAME, PASSWORD = "spa-user", "spa-password-1"
PAGE = b"<!doctype html><title>a single-page app</title>"
TIMEOUT_MS = 15_000

# Runs in the page: the calls a browser client of the API makes.
FLOW = """async ({api, username, password}) => {
  const json = {"Content-Type": "application/json"};
  try {
    const login = await fetch(`${api}/auth/login`, {method: "POST", headers: json,
      body: JSON.stringify({username, password})});
    const token = (await login.json()).access_token;
    const auth = {...json, Authorization: `Bearer ${token}`};
    const created = await fetch(`${api}/stores`, {method: "POST", headers: auth,
      body: JSON.stringify({name: "From the browser"})});
    const location = created.headers.get("Location");
    const store = await created.json();
    const read = await fetch(`${api}/stores/${store.id}`, {headers: auth});
    const etag = read.headers.get("ETag");
    const put = await fetch(`${api}/stores/${store.id}`, {method: "PUT",
      headers: {...auth, "If-Match": etag}, body: JSON.stringify({name: "Renamed"})});
    const stale = await fetch(`${api}/stores/${store.id}`, {method: "PUT",
      headers: {...auth, "If-Match": etag}, body: JSON.stringify({name: "Again"})});
    return {login: login.status, location, etag, put: put.status, stale: stale.status};
  } catch (error) {
    return {blocked: String(error)};
  }
}"""


@contextmanager
def page_origin():
    """A second origin on this machine, serving one empty page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_flow(browser, origin: str, api: str) -> dict:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{origin}/app.html")
        return page.evaluate(FLOW, {"api": api, "username": USERNAME, "password": PASSWORD})
    finally:
        context.close()


def test_a_listed_origin_calls_the_api_and_another_is_blocked(browser, tmp_path, new_database):
    with page_origin() as listed, page_origin() as unlisted, \
            live_server(tmp_path, new_database("cors"), CORS_ORIGINS=listed) as server:
        assert call("POST", f"{server.api}/auth/register",
                    {"username": USERNAME, "password": PASSWORD}).status == 201
        allowed = run_flow(browser, listed, server.api)
        assert allowed["login"] == 200, allowed
        assert allowed["location"].startswith("/api/v1/stores/")
        assert allowed["etag"].startswith('"')
        assert (allowed["put"], allowed["stale"]) == (200, 412)

        refused = run_flow(browser, unlisted, server.api)
        assert "Failed to fetch" in refused.get("blocked", ""), refused
