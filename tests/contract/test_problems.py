"""Whoever raises an error, the answer is problem+json; what is logged of it
carries no value a caller sent."""

import logging

import pytest

import api.stores
from tests.conftest import API, PASSWORD, assert_problem


def test_an_unknown_route_is_a_404_problem(client):
    assert_problem(client.get(f"{API}/nothing-here"), 404)
    assert_problem(client.get("/not-the-api"), 404)


def test_a_wrong_method_is_405_with_every_allowed_method(client, auth, store):
    response = client.patch(f"{API}/stores/{store['id']}", headers=auth)
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, PUT, DELETE"
    response = client.delete(f"{API}/stores", headers=auth)
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


def test_an_unexpected_exception_is_a_500_problem_without_a_trace(client, auth, store, monkeypatch):
    def explode(store):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.stores, "store_json", explode)
    response = client.get(f"{API}/stores/{store['id']}", headers=auth)
    body = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert "RuntimeError" not in body.get("detail", "")


def test_a_wrong_content_type_is_a_415_problem(client, auth):
    response = client.post(
        f"{API}/stores", content=b"name=x", headers={**auth, "Content-Type": "text/plain"}
    )
    assert_problem(response, 415)


def test_the_root_redirects_to_the_docs(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"{API}/ui/"
    assert response.content == b""


def test_a_body_that_is_not_utf8_is_a_400_problem(client, auth):
    response = client.post(f"{API}/stores", content=b"\xd6\x82(\xff\xfe\tki",
                           headers={**auth, "Content-Type": "application/json"})
    assert_problem(response, 400, "not valid JSON")


def test_nan_and_infinity_are_not_json(client, auth, store):
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"name": "x", "price": {constant}, "store_id": {store["id"]}}}'
        response = client.post(f"{API}/items", content=body.encode(),
                               headers={**auth, "Content-Type": "application/json"})
        assert_problem(response, 400, "not a JSON number")


def test_bodiless_answers_carry_no_content_type(client, admin_auth, store):
    response = client.delete(f"{API}/stores/{store['id']}", headers=admin_auth)
    assert response.status_code == 204
    assert "content-type" not in response.headers
    assert response.content == b""


@pytest.fixture
def service_log():
    """The lines the service's own loggers write while the test runs, formatted."""
    lines = []
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter())
    handler.emit = lambda record: lines.append(handler.format(record))
    logging.getLogger("api").addHandler(handler)
    yield lines
    logging.getLogger("api").removeHandler(handler)


@pytest.fixture
def failing_user_inserts(services):
    """A fault of the database's own on every new user (neither a lost
    connection nor a constraint): on SQLite a blob past its size limit
    (DataError), on PostgreSQL an internal error (XX000)."""
    postgres = services.database.engine.dialect.name == "postgresql"
    with services.database.engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql(
                "CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'injected' USING ERRCODE = 'XX000'; END $$ LANGUAGE plpgsql")
            connection.exec_driver_sql("CREATE TRIGGER fail_insert BEFORE INSERT ON users "
                                       "FOR EACH ROW EXECUTE FUNCTION fail_insert()")
        else:
            connection.exec_driver_sql("CREATE TRIGGER fail_insert BEFORE INSERT ON users "
                                       "BEGIN SELECT zeroblob(2000000000); END")
    yield
    with services.database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER fail_insert" + (" ON users" if postgres else ""))
        if postgres:
            connection.exec_driver_sql("DROP FUNCTION fail_insert()")


def test_a_database_fault_is_logged_without_the_statements_values(client, failing_user_inserts,
                                                                 service_log):
    response = client.post(f"{API}/auth/register",
                           json={"username": "faulty", "password": PASSWORD})
    assert_problem(response, 500)
    logged = "\n".join(service_log)
    assert "database error" in logged and "INSERT INTO users" in logged
    assert "$argon2" not in logged and "faulty" not in logged
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged
