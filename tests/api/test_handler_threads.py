"""Handlers run in the worker's thread pool, each call with a session of its own."""

from tests.conftest import API


def test_every_handler_call_closes_its_session_however_it_ends(client, auth, store, services):
    pool = services.database.engine.pool
    for _ in range(3):
        assert client.get(f"{API}/stores/{store['id']}", headers=auth).status_code == 200
        assert client.get(f"{API}/stores/999999", headers=auth).status_code == 404
        taken = client.post(f"{API}/stores", headers=auth, json={"name": store["name"]})
        assert taken.status_code == 409
    assert pool.checkedout() == 0
