"""GET /health, up and down."""

import pytest
import yaml

from api.app import create_app
from api.runtime.config import Settings
from openapi import SPEC_PATH
from tests.conftest import API, assert_problem


def test_health_is_public_and_reports_the_database(client):
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    # The service's version is the contract's.
    version = yaml.safe_load(SPEC_PATH.read_text())["info"]["version"]
    assert response.json() == {"status": "ok", "database": "ok", "version": version}


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


def test_health_refuses_a_query_parameter_it_does_not_know(client):
    assert_problem(client.get(f"{API}/health?verbose=1"), 400, "verbose")
