"""GET /health, up and down."""

import pytest

from api.app import create_app
from api.config import Settings
from tests.conftest import API, assert_problem


def test_health_is_public_and_reports_the_database(client):
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": "1.0.0"}


@pytest.fixture(scope="module")
def app_without_database(tmp_path_factory):
    instance = tmp_path_factory.mktemp("down")
    return create_app(Settings.from_env(
        {},
        database_url=f"sqlite:///{instance}/missing-folder/stores.db",
        jwt_secret_key="k" * 64,
        instance_path=instance,
        validate_responses=True,
    ))


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
