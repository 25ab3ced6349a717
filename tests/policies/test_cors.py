"""CORS: browser pages on listed origins may call the API; nobody else, and
without CORS_ORIGINS no CORS header at all."""

import pytest

from api.app import create_app
from tests.conftest import API, PASSWORD, assert_problem, make_user

PAGE = "https://shop.example"


@pytest.fixture(scope="module")
def cors_app(settings):
    app = create_app(settings.but(cors_origins=(PAGE,)))
    yield app
    app.services.database.dispose()


def preflight(client, origin: str, method: str = "PUT", headers: str = "authorization,if-match"):
    return client.options(f"{API}/items/1", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


def test_without_cors_origins_no_cors_header_is_sent(client):
    response = client.get(f"{API}/health", headers={"Origin": PAGE})
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_a_listed_origin_may_send_tokens_and_conditions_and_read_etags(cors_app):
    with cors_app.test_client() as client:
        response = preflight(client, PAGE, headers="authorization,content-type,if-match,"
                                                   "if-none-match,idempotency-key")
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == PAGE
        assert "PUT" in response.headers["access-control-allow-methods"]
        allowed = response.headers["access-control-allow-headers"].lower()
        for header in ("authorization", "if-match", "if-none-match", "idempotency-key"):
            assert header in allowed
        with cors_app.services.database.session() as db:
            make_user(db, "alice")
        login = client.post(f"{API}/auth/login", json={"username": "alice", "password": PASSWORD},
                            headers={"Origin": PAGE})
        assert login.headers["access-control-allow-origin"] == PAGE
        exposed = login.headers["access-control-expose-headers"]
        for header in ("ETag", "Location", "Link", "X-Request-ID", "Retry-After",
                       "RateLimit", "RateLimit-Policy", "Deprecation", "Sunset"):
            assert header in exposed


def test_another_origin_gets_a_problem_and_no_permission(cors_app):
    with cors_app.test_client() as client:
        response = preflight(client, "https://evil.example")
        assert_problem(response, 400, "Disallowed CORS origin")
        assert "access-control-allow-origin" not in response.headers
        simple = client.get(f"{API}/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


def test_cors_origins_must_be_origins(monkeypatch):
    from api.runtime.config import Settings

    monkeypatch.setenv("CORS_ORIGINS", "https://a.example/x")
    with pytest.raises(ValueError, match="CORS_ORIGINS: must be .* without a path"):
        Settings()
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, http://b.example:8080")
    assert Settings().cors_origins == ("https://a.example", "http://b.example:8080")
