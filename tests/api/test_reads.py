"""A GET only reads: on PostgreSQL its handler's statements run on the pool
of reads, in autocommit (no BEGIN and ROLLBACK round trips) and read-only;
every other method keeps its transaction."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert
from sqlalchemy.exc import DBAPIError

from models import Store
from tests.conftest import API, create, needs_postgres

pytestmark = needs_postgres


@contextmanager
def statements_by_pool(services):
    """(pool, autocommit, statement) of each statement the service runs."""
    seen = []
    engines = {"sessions": services.database.engine, "reads": services.database.reads}

    def listener(name):
        def record(conn, _cursor, statement, *_args):
            seen.append((name, conn.connection.dbapi_connection.autocommit, statement))
        return record

    listeners = {name: listener(name) for name in engines}
    for name, engine in engines.items():
        event.listen(engine, "before_cursor_execute", listeners[name])
    try:
        yield seen
    finally:
        for name, engine in engines.items():
            event.remove(engine, "before_cursor_execute", listeners[name])


@pytest.mark.parametrize("path", [
    "/stores/{store}", "/stores", "/items/{item}", "/items?store_id={store}",
    "/stores/{store}/tags", "/users/me", "/health",
])
def test_a_get_reads_in_autocommit_on_the_pool_of_reads(client, auth, services, store, path):
    item = create(client, auth, "/items", {"name": "Read", "price": "1", "store_id": store["id"]})
    with statements_by_pool(services) as seen:
        response = client.get(f"{API}{path.format(store=store['id'], item=item['id'])}",
                              headers=auth)
    assert response.status_code == 200, response.text
    handlers = [(pool, autocommit) for pool, autocommit, statement in seen
                if "revoked_tokens" not in statement]  # the token check's, if any
    assert handlers, "the handler ran no statement"
    assert set(handlers) == {("reads", True)}


def test_a_write_keeps_its_transaction(client, auth, services):
    with statements_by_pool(services) as seen:
        assert client.post(f"{API}/stores", json={"name": "Written"}, headers=auth).status_code == 201
    written = [(pool, autocommit) for pool, autocommit, statement in seen
               if statement.startswith("INSERT INTO stores")]
    assert written == [("sessions", False)]


def test_the_pool_of_reads_refuses_writes(services):
    with services.database.read_session() as session, pytest.raises(DBAPIError) as refused:
        session.execute(insert(Store).values(name="Never"))
    assert "read-only transaction" in str(refused.value)
