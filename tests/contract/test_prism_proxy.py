"""Prism's validation proxy (Stoplight, pinned in openapi/tools) in front of
a real server: a validator that is not Connexion holds every request and
every answer to the spec (issue 41).

The traffic reaches every operation, and of each every documented status
a request can bring about: its success, 304, 400, 401, 403, 404, 409, 412,
413, 414, 415 and 422 where it declares them. Prism flags an answer that
breaks the spec in its `sl-violations` header: none may carry one about the
answer, and a request meant to be valid none about the request. Not brought
about here: 408 and 431 (a slow or huge head, which Node's own server in
Prism answers before the spec is consulted; tests/serving/ has them), 429
(tests/policies/test_rate_limits.py), 500 and 503 (faults:
tests/production/test_faults.py)."""

import json
import os
import signal
import socket
import subprocess
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from api.contract.spec_walk import operations_of
from openapi import SPEC_PATH, load_spec
from tests.conftest import run_cli
from tests.contract.node import npm_ci, require_node
from tests.live_server import free_port

TOOLS = SPEC_PATH.parent / "tools"
SPEC = load_spec()
# What a request can bring about; the rest is named in the module's doc.
REACHABLE = {"200", "201", "204", "304", "400", "401", "403", "404", "409", "412", "413",
             "414", "415", "422"}
# Declared, but brought about only by a race: an acceptance that loses to a
# concurrent change of the same membership.
UNREACHED = {"acceptInvitation": {"409"}}
ADMIN, PASSWORD = "prism-admin", "prism-password"
START_SECONDS = 60


@pytest.fixture(scope="module")
def prism(server, tmp_path_factory) -> str:
    require_node("Prism's validation proxy")
    npm_ci(TOOLS)
    with proxy(SPEC_PATH, server.api, tmp_path_factory.mktemp("prism")) as url:
        yield url


@contextmanager
def proxy(spec: Path, upstream: str, folder: Path):
    """Prism's proxy from `spec` to `upstream` on a free port, until the block ends."""
    port = free_port()
    log = folder / "prism.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [TOOLS / "node_modules" / ".bin" / "prism", "proxy", str(spec), upstream,
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _listening(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Traffic:
    """Requests through Prism, each checked as it comes back and counted by
    the operation it meant to call and the status it got."""

    def __init__(self, base: str):
        self.http = httpx.Client(base_url=base, timeout=30)
        self.reached: dict[str, set[str]] = defaultdict(set)

    def ask(self, operation: str, method: str, path: str, status: int, *,
            token: str | None = None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, path, headers=headers, **kwargs)
        where = f"{operation}: {method} {path[:80]}"
        assert response.status_code == status, f"{where}: {response.status_code} {response.text}"
        flagged = json.loads(response.headers.get("sl-violations", "[]"))
        about_answer = [v for v in flagged if v["location"][0] != "request"]
        assert about_answer == [], f"{where}: Prism flags the answer: {about_answer}"
        if status < 400:
            assert flagged == [], f"{where}: Prism flags the request: {flagged}"
        self.reached[operation].add(str(status))
        return response

    def every_request_probe(self, operation: str, method: str, path: str, token: str | None,
                            takes_body: bool) -> None:
        """What any request to the operation may get: 400 and 414; 401, 413
        and 415 where they apply. Prism forwards no body of an operation that
        takes none (501) and never answers a body that is not JSON, so a body
        too large is valid JSON and sent where a body belongs; the 413 of
        the others is tests/contract/test_declared_statuses.py's."""
        self.ask(operation, method, path + "?no-such-parameter=1", 400, token=token)
        self.ask(operation, method, path + "?q=" + "x" * 9000, 414, token=token)
        if token:
            self.ask(operation, method, path, 401)
        if takes_body:
            self.ask(operation, method, path, 413, token=token,
                     json={"padding": "x" * 300_000})
            self.ask(operation, method, path, 415, token=token, content=b"x",
                     headers={"Content-Type": "text/plain"})


def test_prism_flags_nothing_on_traffic_through_every_operation(server, prism):
    assert run_cli(server.env, "create-admin", ADMIN, "--password-stdin",
                   stdin=PASSWORD).returncode == 0
    traffic = Traffic(prism)
    world = _accounts(traffic)
    world.update(_stores(traffic, world))
    _items_and_tags(traffic, world)
    _members(traffic, world)
    _probes_of_every_operation(traffic, world)
    _deletes(traffic, world)
    missing = {}
    for _path, _method, operation in operations_of(SPEC):
        wanted = set(operation["responses"]) & REACHABLE
        wanted -= UNREACHED.get(operation["operationId"], set())
        if "requestBody" not in operation:
            wanted.discard("413")
        if not wanted <= traffic.reached[operation["operationId"]]:
            missing[operation["operationId"]] = sorted(
                wanted - traffic.reached[operation["operationId"]])
    assert missing == {}


def _login(traffic: Traffic, username: str, password: str) -> dict:
    return traffic.ask("login", "POST", "/auth/login", 200,
                       json={"username": username, "password": password}).json()


def _accounts(t: Traffic) -> dict:
    t.ask("getHealth", "GET", "/health", 200)
    for name in ("alice", "bob", "carol"):
        t.ask("register", "POST", "/auth/register", 201,
              json={"username": name, "password": "long-enough-pw"})
    t.ask("register", "POST", "/auth/register", 409,
          json={"username": "ALICE", "password": "long-enough-pw"})
    t.ask("login", "POST", "/auth/login", 401, json={"username": "alice", "password": "x" * 8})
    t.ask("login", "POST", "/auth/login", 200,
          data={"grant_type": "password", "username": "bob", "password": "long-enough-pw"})
    alice, bob = _login(t, "alice", "long-enough-pw"), _login(t, "bob", "long-enough-pw")
    carol, admin = _login(t, "carol", "long-enough-pw"), _login(t, ADMIN, PASSWORD)
    refreshed = t.ask("refreshTokens", "POST", "/auth/refresh", 200,
                      token=carol["refresh_token"]).json()
    t.ask("refreshTokens", "POST", "/auth/refresh", 401, token=carol["access_token"])
    me = t.ask("getCurrentUser", "GET", "/users/me", 200, token=alice["access_token"])
    t.ask("getCurrentUser", "GET", "/users/me", 304, token=alice["access_token"],
          headers={"If-None-Match": me.headers["etag"]})
    alice_id = me.json()["id"]
    t.ask("listUsers", "GET", "/users?limit=2", 200, token=admin["access_token"])
    t.ask("listUsers", "GET", "/users", 403, token=alice["access_token"])
    user = t.ask("getUser", "GET", f"/users/{alice_id}", 200, token=admin["access_token"])
    t.ask("getUser", "GET", f"/users/{alice_id}", 304, token=alice["access_token"],
          headers={"If-None-Match": user.headers["etag"]})
    t.ask("getUser", "GET", f"/users/{alice_id}", 403, token=bob["access_token"])
    t.ask("getUser", "GET", "/users/999999", 404, token=admin["access_token"])
    t.ask("logout", "POST", "/auth/logout", 204, token=refreshed["access_token"],
          json={"refresh_token": refreshed["refresh_token"]})
    t.ask("logout", "POST", "/auth/logout", 401, token=refreshed["access_token"])
    bob_stale = t.ask("refreshTokens", "POST", "/auth/refresh", 200,
                      token=bob["refresh_token"]).json()["access_token"]
    return {"alice": alice["access_token"], "bob": bob["access_token"], "bob_stale": bob_stale,
            "carol": carol["access_token"], "admin": admin["access_token"],
            "admin_refresh": admin["refresh_token"], "alice_id": alice_id,
            "carol_id": t.ask("getCurrentUser", "GET", "/users/me", 200,
                              token=carol["access_token"]).json()["id"],
            "bob_id": t.ask("getCurrentUser", "GET", "/users/me", 200,
                            token=bob["access_token"]).json()["id"]}


def _stores(t: Traffic, w: dict) -> dict:
    alice, bob = w["alice"], w["bob"]
    store = t.ask("createStore", "POST", "/stores", 201, token=alice,
                  json={"name": "Corner Shop"}, headers={"Idempotency-Key": "prism-1"}).json()
    t.ask("createStore", "POST", "/stores", 422, token=alice, json={"name": "Other"},
          headers={"Idempotency-Key": "prism-1"})
    t.ask("createStore", "POST", "/stores", 409, token=alice, json={"name": "Corner Shop"})
    spare = t.ask("createStore", "POST", "/stores", 201, token=bob, json={"name": "Kiosk"}).json()
    t.ask("listStores", "GET", "/stores?limit=1", 200, token=bob)
    s = f"/stores/{store['id']}"
    read = t.ask("getStore", "GET", s, 200, token=bob)
    t.ask("getStore", "GET", s, 304, token=bob, headers={"If-None-Match": read.headers["etag"]})
    t.ask("getStore", "GET", "/stores/999999", 404, token=bob)
    t.ask("replaceStore", "PUT", s, 412, token=alice, json={"name": "Corner Shop & Deli"},
          headers={"If-Match": '"stale"'})
    t.ask("replaceStore", "PUT", s, 200, token=alice, json={"name": "Corner Shop & Deli"},
          headers={"If-Match": read.headers["etag"]})
    t.ask("replaceStore", "PUT", s, 403, token=bob, json={"name": "Mine"})
    t.ask("replaceStore", "PUT", "/stores/999999", 404, token=alice, json={"name": "Nowhere"})
    t.ask("replaceStore", "PUT", s, 409, token=alice, json={"name": "Kiosk"})
    return {"store": store["id"], "spare": spare["id"]}


def _items_and_tags(t: Traffic, w: dict) -> None:
    alice, bob, s = w["alice"], w["bob"], w["store"]
    item = t.ask("createItem", "POST", "/items", 201, token=alice,
                 json={"name": "Desk lamp", "price": "19.99", "store_id": s}).json()
    t.ask("createItem", "POST", "/items", 201, token=alice,
          json={"name": "Chair", "price": "5", "store_id": s})
    t.ask("createItem", "POST", "/items", 409, token=alice,
          json={"name": "Desk lamp", "price": "1.50", "store_id": s})
    t.ask("createItem", "POST", "/items", 403, token=bob,
          json={"name": "Sneaky", "price": "1", "store_id": s})
    t.ask("createItem", "POST", "/items", 422, token=alice,
          json={"name": "Lost", "price": "1", "store_id": 999999})
    i = f"/items/{item['id']}"
    read = t.ask("getItem", "GET", i, 200, token=bob)
    t.ask("getItem", "GET", i, 304, token=bob, headers={"If-None-Match": read.headers["etag"]})
    t.ask("getItem", "GET", "/items/999999", 404, token=bob)
    body = {"name": "Desk lamp", "price": "17.50", "description": "Now with a dimmer."}
    t.ask("replaceItem", "PUT", i, 412, token=alice, json=body, headers={"If-Match": '"old"'})
    t.ask("replaceItem", "PUT", i, 200, token=alice, json=body)
    t.ask("replaceItem", "PUT", i, 403, token=bob, json=body)
    t.ask("replaceItem", "PUT", "/items/999999", 404, token=alice, json=body)
    t.ask("replaceItem", "PUT", i, 409, token=alice, json={**body, "name": "Chair"})
    t.ask("listItems", "GET", f"/items?store_id={s}&min_price=1&max_price=100&limit=1", 200,
          token=bob)
    t.ask("listStoreItems", "GET", f"/stores/{s}/items", 200, token=bob)
    t.ask("listStoreItems", "GET", "/stores/999999/items", 404, token=bob)
    tag = t.ask("createStoreTag", "POST", f"/stores/{s}/tags", 201, token=alice,
                json={"name": "on-sale"}, headers={"Idempotency-Key": "prism-2"}).json()
    t.ask("createStoreTag", "POST", f"/stores/{s}/tags", 422, token=alice,
          json={"name": "other"}, headers={"Idempotency-Key": "prism-2"})
    t.ask("createStoreTag", "POST", f"/stores/{s}/tags", 409, token=alice, json={"name": "on-sale"})
    t.ask("createStoreTag", "POST", f"/stores/{s}/tags", 403, token=bob, json={"name": "mine"})
    t.ask("createStoreTag", "POST", "/stores/999999/tags", 404, token=alice, json={"name": "x"})
    foreign = t.ask("createStoreTag", "POST", f"/stores/{w['spare']}/tags", 201, token=bob,
                    json={"name": "elsewhere"}).json()
    t.ask("listStoreTags", "GET", f"/stores/{s}/tags", 200, token=bob)
    t.ask("listStoreTags", "GET", "/stores/999999/tags", 404, token=bob)
    g = f"/tags/{tag['id']}"
    read = t.ask("getTag", "GET", g, 200, token=bob)
    t.ask("getTag", "GET", g, 304, token=bob, headers={"If-None-Match": read.headers["etag"]})
    t.ask("getTag", "GET", "/tags/999999", 404, token=bob)
    link = f"{i}/tags/{tag['id']}"
    t.ask("linkItemTag", "PUT", link, 204, token=alice)
    t.ask("linkItemTag", "PUT", link, 403, token=bob)
    t.ask("linkItemTag", "PUT", f"{i}/tags/999999", 404, token=alice)
    t.ask("linkItemTag", "PUT", f"{i}/tags/{foreign['id']}", 422, token=alice)
    for n in range(19):  # to the bound of 20 tags; the 21st is 409
        more = t.ask("createStoreTag", "POST", f"/stores/{s}/tags", 201, token=alice,
                     json={"name": f"tag {n}"}).json()
        t.ask("linkItemTag", "PUT", f"{i}/tags/{more['id']}", 204, token=alice)
    last = t.ask("createStoreTag", "POST", f"/stores/{s}/tags", 201, token=alice,
                 json={"name": "one too many"}).json()
    t.ask("linkItemTag", "PUT", f"{i}/tags/{last['id']}", 409, token=alice)
    t.ask("listTagItems", "GET", f"{g}/items", 200, token=bob)
    t.ask("listTagItems", "GET", "/tags/999999/items", 404, token=bob)
    t.ask("deleteTag", "DELETE", g, 409, token=alice)  # still on an item
    t.ask("unlinkItemTag", "DELETE", link, 403, token=bob)
    t.ask("unlinkItemTag", "DELETE", link, 204, token=alice)
    t.ask("unlinkItemTag", "DELETE", f"/items/999999/tags/{tag['id']}", 404, token=alice)
    w.update(item=item["id"], tag=tag["id"], last_tag=last["id"])


def _members(t: Traffic, w: dict) -> None:
    alice, bob, s = w["alice"], w["bob"], w["store"]
    m = f"/stores/{s}/members"
    t.ask("listStoreMembers", "GET", m, 403, token=bob)
    t.ask("listStoreMembers", "GET", "/stores/999999/members", 404, token=alice)
    v = f"/stores/{s}/invitations"
    t.ask("inviteStoreMember", "POST", v, 201, token=alice,
          json={"username": "bob", "role": "editor"})
    t.ask("inviteStoreMember", "POST", v, 409, token=alice,
          json={"username": "bob", "role": "owner"})
    t.ask("inviteStoreMember", "POST", v, 422, token=alice,
          json={"username": "nobody-here", "role": "editor"})
    t.ask("inviteStoreMember", "POST", v, 403, token=bob,
          json={"username": "carol", "role": "editor"})
    t.ask("inviteStoreMember", "POST", "/stores/999999/invitations", 404, token=alice,
          json={"username": "carol", "role": "editor"})
    t.ask("inviteStoreMember", "POST", v, 201, token=alice,
          json={"username": "carol", "role": "editor"})
    t.ask("listStoreInvitations", "GET", f"{v}?limit=1", 200, token=alice)
    t.ask("listStoreInvitations", "GET", v, 403, token=bob)
    t.ask("listStoreInvitations", "GET", "/stores/999999/invitations", 404, token=alice)
    t.ask("withdrawStoreInvitation", "DELETE", f"{v}/{w['bob_id']}", 403, token=bob)
    t.ask("withdrawStoreInvitation", "DELETE", f"{v}/999999", 404, token=alice)
    t.ask("withdrawStoreInvitation", "DELETE", f"{v}/{w['carol_id']}", 204, token=alice)
    t.ask("listMyInvitations", "GET", "/users/me/invitations", 200, token=bob)
    mine = f"/users/me/invitations/{s}"
    t.ask("declineInvitation", "DELETE", f"/users/me/invitations/{w['spare']}", 404, token=bob)
    t.ask("acceptInvitation", "POST", f"{mine}/accept", 403, token=w["bob_stale"])
    t.ask("acceptInvitation", "POST", f"/users/me/invitations/{w['spare']}/accept", 404,
          token=bob)
    t.ask("acceptInvitation", "POST", f"{mine}/accept", 201, token=bob)
    t.ask("inviteStoreMember", "POST", v, 201, token=alice,
          json={"username": "carol", "role": "editor"})
    t.ask("declineInvitation", "DELETE", f"/users/me/invitations/{s}", 204, token=w["carol"])
    t.ask("listStoreMembers", "GET", m, 200, token=bob)
    bob_member, alice_member = f"{m}/{w['bob_id']}", f"{m}/{w['alice_id']}"
    t.ask("getStoreMember", "GET", bob_member, 200, token=bob)
    t.ask("getStoreMember", "GET", f"/stores/{w['spare']}/members/{w['bob_id']}", 403,
          token=alice)
    t.ask("getStoreMember", "GET", f"{m}/999999", 404, token=alice)
    t.ask("replaceStoreMember", "PUT", alice_member, 409, token=alice, json={"role": "editor"})
    t.ask("replaceStoreMember", "PUT", bob_member, 403, token=bob, json={"role": "owner"})
    t.ask("replaceStoreMember", "PUT", f"{m}/999999", 404, token=alice, json={"role": "owner"})
    t.ask("replaceStoreMember", "PUT", bob_member, 200, token=alice, json={"role": "editor"})
    t.ask("removeStoreMember", "DELETE", alice_member, 409, token=alice)  # the last owner
    t.ask("removeStoreMember", "DELETE", alice_member, 403, token=bob)
    t.ask("removeStoreMember", "DELETE", f"{m}/999999", 404, token=alice)
    t.ask("removeStoreMember", "DELETE", bob_member, 204, token=bob)  # bob leaves


def _probes_of_every_operation(t: Traffic, w: dict) -> None:
    ids = {"store_id": w["store"], "item_id": w["item"], "tag_id": w["tag"],
           "user_id": w["alice_id"]}
    for path, method, operation in operations_of(SPEC):
        security = operation.get("security", SPEC["security"])
        token = None if security == [] else \
            w["admin_refresh"] if "refreshToken" in security[0] else w["admin"]
        t.every_request_probe(operation["operationId"], method.upper(), path.format(**ids),
                              token, "requestBody" in operation)


def _deletes(t: Traffic, w: dict) -> None:
    alice, bob, admin = w["alice"], w["bob"], w["admin"]
    i, s = f"/items/{w['item']}", f"/stores/{w['store']}"
    t.ask("deleteItem", "DELETE", i, 403, token=bob)
    t.ask("deleteItem", "DELETE", i, 412, token=alice, headers={"If-Match": '"old"'})
    t.ask("deleteItem", "DELETE", i, 204, token=alice)
    t.ask("deleteItem", "DELETE", i, 404, token=alice)
    g = f"/tags/{w['last_tag']}"
    t.ask("deleteTag", "DELETE", g, 403, token=bob)
    t.ask("deleteTag", "DELETE", g, 412, token=alice, headers={"If-Match": '"old"'})
    t.ask("deleteTag", "DELETE", g, 204, token=alice)
    t.ask("deleteTag", "DELETE", g, 404, token=alice)
    u = f"/users/{w['alice_id']}"
    t.ask("deleteUser", "DELETE", u, 403, token=bob)
    t.ask("deleteUser", "DELETE", u, 409, token=admin)  # the last owner of a store
    t.ask("deleteStore", "DELETE", s, 403, token=bob)
    t.ask("deleteStore", "DELETE", s, 412, token=alice, headers={"If-Match": '"old"'})
    t.ask("deleteStore", "DELETE", s, 204, token=alice)
    t.ask("deleteStore", "DELETE", s, 404, token=alice)
    t.ask("deleteUser", "DELETE", u, 412, token=admin, headers={"If-Match": '"old"'})
    t.ask("deleteUser", "DELETE", u, 204, token=admin)
    t.ask("deleteUser", "DELETE", u, 404, token=admin)


def test_the_proxy_flags_an_answer_the_spec_does_not_allow(server, tmp_path):
    """The check bites: Prism, in front of the same server, with a spec whose
    stores' names (in answers only) are at most 3 characters long."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    spec["components"]["schemas"]["Store"]["properties"]["name"] = {"type": "string",
                                                                     "maxLength": 3}
    narrowed = tmp_path / "swagger.yaml"
    narrowed.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert run_cli(server.env, "create-admin", "narrow-admin", "--password-stdin",
                   stdin=PASSWORD).returncode == 0
    with proxy(narrowed, server.api, tmp_path) as url:
        traffic = Traffic(url)
        token = _login(traffic, "narrow-admin", PASSWORD)["access_token"]
        with pytest.raises(AssertionError, match="Prism flags the answer"):
            traffic.ask("createStore", "POST", "/stores", 201, token=token,
                        json={"name": "Long enough"})
