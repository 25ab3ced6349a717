"""Many clients at once on one host: constraints decide, never a 500."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.http import call, register_and_login
from tests.live_server import live_server

CREATES = 200
LINK_CALLS = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory, new_database):
    with live_server(tmp_path_factory.mktemp("busy"), new_database("busy"), workers=2) as live:
        yield live


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
                {"name": "Thing", "price": 1, "store_id": store["id"]}, token=token).json()
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
