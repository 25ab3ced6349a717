"""GET /health, up and down."""


from openapi import load_spec
from tests.conftest import API, assert_problem


def test_health_is_public_and_reports_the_database(client):
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    # The service's version is the contract's.
    version = load_spec()["info"]["version"]
    assert response.json() == {"status": "ok", "database": "ok", "version": version}




def test_health_is_503_when_the_database_is_unreachable(app_without_database):
    with app_without_database.test_client() as client:
        response = client.get(f"{API}/health")
    body = assert_problem(response, 503, "database")
    assert body["database"] == "unavailable"


def test_any_request_is_503_when_the_database_is_unreachable(app_without_database):
    with app_without_database.test_client() as client:
        response = client.post(
            f"{API}/auth/login", json={"username": "alice", "password": "long-enough-pw"}
        )
    assert_problem(response, 503)


def test_health_refuses_a_query_parameter_it_does_not_know(client):
    assert_problem(client.get(f"{API}/health?verbose=1"), 400, "verbose")
