"""A worker's threads and database pools: as many threads as HANDLER_THREADS,
a session per handler call, and a pool of its own for the token lookups."""

from dataclasses import replace

from anyio import to_thread

from api.app import create_app
from tests.conftest import API, needs_postgres


def _pool_size() -> int:
    return to_thread.current_default_thread_limiter().total_tokens


def test_the_thread_pool_has_handler_threads_threads(settings):
    app = create_app(replace(settings, handler_threads=3))
    with app.test_client() as client:  # runs the app's lifespan, as a server does
        assert client.portal.call(_pool_size) == 3
        assert app.services.database.engine.pool.size() == 3


def test_every_handler_call_closes_its_session_however_it_ends(client, auth, store, services):
    pool = services.database.engine.pool
    for _ in range(3):
        assert client.get(f"{API}/stores/{store['id']}", headers=auth).status_code == 200
        assert client.get(f"{API}/stores/999999", headers=auth).status_code == 404
        taken = client.post(f"{API}/stores", headers=auth, json={"name": store["name"]})
        assert taken.status_code == 409
    assert pool.checkedout() == 0


@needs_postgres
def test_the_token_lookup_has_an_autocommit_pool_of_its_own(client, auth, services):
    # One statement, no BEGIN and ROLLBACK around it, and no isolation level
    # switched there and back on a connection that the sessions share.
    assert client.get(f"{API}/users/me", headers=auth).status_code == 200
    lookups, sessions = services.database.single_reads, services.database.engine
    assert lookups.pool is not sessions.pool
    with lookups.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is True
    with sessions.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False
