"""Many clients at once on one host: constraints decide, never a 500."""

import time
from concurrent.futures import ThreadPoolExecutor

from tests.http import call, register_and_login
from tests.live_server import live_server

# The module's server (tests/conftest.py): two gunicorn workers.
SERVER_OPTIONS = {"workers": 2}
CREATES = 200
LINK_CALLS = 50
COUNTED = 40


def test_200_concurrent_creates_of_one_name_give_one_201_and_199_409(server):
    token = register_and_login(server.api, "crowd")["access_token"]

    def create(_):
        return call("POST", f"{server.api}/stores", {"name": "Popular"}, token=token).status

    with ThreadPoolExecutor(max_workers=CREATES) as pool:
        statuses = list(pool.map(create, range(CREATES)))
    assert statuses.count(201) == 1
    assert statuses.count(409) == CREATES - 1


def test_concurrent_link_and_unlink_of_one_pair_stay_consistent(server):
    token = register_and_login(server.api, "tagger")["access_token"]
    store = call("POST", f"{server.api}/stores", {"name": "Tagged"}, token=token).json()
    item = call("POST", f"{server.api}/items",
                {"name": "Thing", "price": "1", "store_id": store["id"]}, token=token).json()
    tag = call("POST", f"{server.api}/stores/{store['id']}/tags", {"name": "t"}, token=token).json()
    link = f"{server.api}/items/{item['id']}/tags/{tag['id']}"

    def toggle(n):
        return call("PUT" if n % 2 else "DELETE", link, token=token).status

    with ThreadPoolExecutor(max_workers=LINK_CALLS) as pool:
        statuses = list(pool.map(toggle, range(LINK_CALLS)))
    assert all(status < 500 for status in statuses), statuses
    assert set(statuses) <= {204, 404}  # an unlink that found no link is 404
    tags = call("GET", f"{server.api}/items/{item['id']}", token=token).json()["tags"]
    count = call("GET", f"{server.api}/tags/{tag['id']}", token=token).json()["item_count"]
    assert (tags, count) in [([], 0), ([{"id": tag["id"], "name": "t"}], 1)]


def test_30_links_of_distinct_tags_to_one_item_at_once_stop_at_its_20(server):
    token = register_and_login(server.api, "many-tags")["access_token"]
    store = call("POST", f"{server.api}/stores", {"name": "Tag heavy"}, token=token).json()
    item = call("POST", f"{server.api}/items",
                {"name": "Thing", "price": "1", "store_id": store["id"]}, token=token).json()
    tags = [call("POST", f"{server.api}/stores/{store['id']}/tags", {"name": f"t{n}"},
                 token=token).json()["id"] for n in range(30)]

    def link(tag_id):
        return call("PUT", f"{server.api}/items/{item['id']}/tags/{tag_id}", token=token).status

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(link, tags))
    assert (statuses.count(204), statuses.count(409)) == (20, 10), statuses
    carried = call("GET", f"{server.api}/items/{item['id']}", token=token).json()["tags"]
    assert len(carried) == 20


def test_counts_stay_exact_under_parallel_creates_links_and_deletes(server):
    """The counts kept by triggers (migration 0014): 40 items made at once
    in one store, each linked to the same two tags, then deleted at once.
    The deletes lock the tags they count into in one order: none deadlocks."""
    token = register_and_login(server.api, "counter")["access_token"]
    store = call("POST", f"{server.api}/stores", {"name": "Counted"}, token=token).json()
    tags = [call("POST", f"{server.api}/stores/{store['id']}/tags", {"name": name},
                 token=token).json()["id"] for name in ("a", "b")]

    def make(n):
        item = call("POST", f"{server.api}/items", {"name": f"i{n}", "price": "1",
                                                   "store_id": store["id"]}, token=token)
        # Linked in the two orders, so that the links' rows lie both ways.
        for tag in (tags if n % 2 else tags[::-1]):
            assert call("PUT", f"{server.api}/items/{item.json()['id']}/tags/{tag}",
                        token=token).status == 204
        return item.status, item.json()["id"]

    def counts():
        stored = call("GET", f"{server.api}/stores/{store['id']}", token=token).json()
        return [stored["item_count"], stored["tag_count"]] + [
            call("GET", f"{server.api}/tags/{tag}", token=token).json()["item_count"]
            for tag in tags]

    with ThreadPoolExecutor(max_workers=COUNTED) as pool:
        made = list(pool.map(make, range(COUNTED)))
    assert {status for status, _ in made} == {201}
    assert counts() == [COUNTED, 2, COUNTED, COUNTED]
    with ThreadPoolExecutor(max_workers=COUNTED) as pool:
        statuses = list(pool.map(
            lambda item: call("DELETE", f"{server.api}/items/{item}", token=token).status,
            [item for _, item in made]))
    assert set(statuses) == {204}, statuses
    assert counts() == [0, 2, 0, 0]


def test_two_clients_racing_a_put_with_the_same_etag_one_wins(server):
    token = register_and_login(server.api, "racer-etag")["access_token"]
    store = call("POST", f"{server.api}/stores", {"name": "Raced"}, token=token).json()
    path = f"{server.api}/stores/{store['id']}"

    def put(name, etag):
        return call("PUT", path, {"name": name}, token=token, headers={"If-Match": etag}).status

    for round_ in range(5):
        etag = call("GET", path, token=token).headers["etag"]
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = pool.map(put, [f"Raced {round_}.a", f"Raced {round_}.b"], [etag, etag])
            assert sorted(statuses) == [200, 412]


def test_two_owners_demoting_each_other_at_once_leave_the_store_an_owner(server):
    tokens = {name: register_and_login(server.api, name)["access_token"]
              for name in ("owner-a", "owner-b")}
    ids = {name: call("GET", f"{server.api}/users/me", token=token).json()["id"]
           for name, token in tokens.items()}
    for round_ in range(5):
        store = call("POST", f"{server.api}/stores", {"name": f"Shared {round_}"},
                     token=tokens["owner-a"]).json()
        members = f"{server.api}/stores/{store['id']}/members"
        invited = call("POST", f"{server.api}/stores/{store['id']}/invitations",
                       {"username": "owner-b", "role": "owner"}, token=tokens["owner-a"])
        assert invited.status == 201
        accepted = call("POST", f"{server.api}/users/me/invitations/{store['id']}/accept",
                        token=tokens["owner-b"])
        assert accepted.status == 201

        def demote(caller, target, members=members):
            return call("PUT", f"{members}/{ids[target]}", {"role": "editor"},
                        token=tokens[caller]).status

        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = sorted(pool.map(demote, ["owner-a", "owner-b"], ["owner-b", "owner-a"]))
        # The second, served after the first, is no longer an owner.
        assert statuses == [200, 403], statuses
        roles = [m["role"] for m in call("GET", members, token=tokens["owner-a"]).json()["data"]]
        assert sorted(roles) == ["editor", "owner"]


def test_20_parallel_invitations_and_acceptances_of_one_user_make_one_membership(server):
    owner = register_and_login(server.api, "crowd-owner")["access_token"]
    joiner = register_and_login(server.api, "joiner")["access_token"]
    store = call("POST", f"{server.api}/stores", {"name": "Crowded"}, token=owner).json()
    members = f"{server.api}/stores/{store['id']}/members"

    def invite(_):
        return call("POST", f"{server.api}/stores/{store['id']}/invitations",
                    {"username": "joiner", "role": "editor"}, token=owner).status

    def accept(_):
        return call("POST", f"{server.api}/users/me/invitations/{store['id']}/accept",
                    token=joiner).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        invited = list(pool.map(invite, range(20)))
        accepted = list(pool.map(accept, range(20)))
    assert (invited.count(201), invited.count(409)) == (1, 19)
    assert (accepted.count(201), accepted.count(404)) == (1, 19)
    listed = call("GET", members, token=owner).json()["data"]
    assert [m["username"] for m in listed] == ["crowd-owner", "joiner"]


def test_20_parallel_refreshes_within_the_leeway_all_get_the_same_pair(server):
    pair = register_and_login(server.api, "retrier")

    def refresh(_):
        reply = call("POST", f"{server.api}/auth/refresh", token=pair["refresh_token"])
        return reply.status, reply.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(refresh, range(20)))
    assert {status for status, _ in answers} == {200}
    rotated = answers[0][1]
    assert all(body == rotated for _, body in answers)  # one chain, one live refresh token
    assert call("GET", f"{server.api}/users/me", token=rotated["access_token"]).status == 200
    assert call("POST", f"{server.api}/auth/refresh", token=rotated["refresh_token"]).status == 200


def test_a_reuse_after_the_leeway_ends_the_chain(tmp_path, new_database):
    with live_server(tmp_path, new_database("leeway"), REFRESH_REUSE_SECONDS="1") as live:
        pair = register_and_login(live.api, "late")
        rotated = call("POST", f"{live.api}/auth/refresh", token=pair["refresh_token"])
        assert rotated.status == 200
        assert call("POST", f"{live.api}/auth/refresh", token=pair["refresh_token"]).json() == rotated.json()
        time.sleep(2.2)  # past the leeway (whole seconds)
        late = call("POST", f"{live.api}/auth/refresh", token=pair["refresh_token"])
        assert late.status == 401
        assert call("GET", f"{live.api}/users/me", token=rotated.json()["access_token"]).status == 401
