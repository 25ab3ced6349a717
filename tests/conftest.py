"""Fixtures: one app per test session, a clean database per test, and the
people and things the contract talks about (a user, a fresh admin, a store...)."""

import json
import logging
import os
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete
from sqlalchemy.engine import make_url

from api.app import create_app
from api.identity.passwords import PasswordHasher
from api.policies.access_log import ACCESS_LOGGER
from api.process import migrate
from api.process.logs import configure_logging
from api.runtime.config import Settings
from models import Base, User
from openapi import BASE_PATH

API = BASE_PATH
PASSWORD = "correct-horse-battery"
# The in-process suite hashes cheaply; live servers keep the default cost.
TEST_HASH_COST = {"password_hash_time_cost": 1, "password_hash_memory_kib": 8192}
TEST_HASHER = PasswordHasher(1, 8192)
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"))

# Tests that only mean something on PostgreSQL; skipped on SQLite (see below).
needs_postgres = pytest.mark.postgres
# The slow groups, by where they live: `make test-fast` leaves them out.
SLOW_GROUPS = {
    "live": ("tests/production/", "tests/contract/", "tests/test_serve.py", "tests/test_wheel.py"),
    "browser": ("tests/browser/",),
}


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix()
        for marker, places in SLOW_GROUPS.items():
            if where.startswith(places):
                item.add_marker(marker)
        if item.get_closest_marker("postgres") and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(
                reason="needs PostgreSQL: `make test` runs it through "
                       "`python -m tests.postgres_suite`"))


@pytest.fixture(scope="session")
def new_database(tmp_path_factory):
    """A factory of empty databases on the suite's backend, all dropped at the end.

    On PostgreSQL they are siblings of TEST_DATABASE_URL's database, named after it.
    """
    created = []

    def make(label: str = "db") -> str:
        if not ON_POSTGRES:
            return f"sqlite:///{tmp_path_factory.mktemp(label) / 'stores.db'}"
        base = make_url(TEST_DATABASE_URL)
        name = f"{base.database}_{len(created) + 1}"
        _on_postgres_server(f'CREATE DATABASE "{name}"')
        created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        _on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_postgres_server(statement: str) -> None:
    engine = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """TEST_DATABASE_URL when given (PostgreSQL in CI), else a fresh SQLite file."""
    url = TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'stores.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory):
    return Settings.from_env(
        {},
        database_url=database_url,
        jwt_secret_key="test-secret-" + "k" * 64,
        instance_path=tmp_path_factory.mktemp("instance"),
        validate_responses=True,
        log_level="WARNING",
        access_token_lifetime=timedelta(minutes=15),
        **TEST_HASH_COST,
    )


@pytest.fixture(scope="session")
def app(settings):
    # As the command line does before it builds the app: whoever reads the
    # settings sets up logging from them (api/process/startup.py).
    configure_logging(settings.log_level, settings.access_log, settings.log_format)
    return create_app(settings)


@pytest.fixture(scope="session")
def services(app):
    return app.services


@pytest.fixture(autouse=True)
def clean_database(services):
    yield
    with services.database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


@pytest.fixture
def client(app):
    with app.test_client() as client:  # runs the app's lifespan, as a server does
        yield client


@pytest.fixture
def access_lines():
    """The access lines logged while the test runs, parsed, as they are
    logged: before any batching, and although the logger does not propagate
    to pytest's capture."""
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(json.loads(record.getMessage()))
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


@pytest.fixture
def db(services):
    with services.database.session() as session:
        yield session


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = PASSWORD) -> dict:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def make_user(db, username: str, *, is_admin: bool = False, password: str = PASSWORD) -> User:
    user = User(username=username, password_hash=TEST_HASHER.hash(password), is_admin=is_admin)
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def user(db):
    return make_user(db, "alice")


@pytest.fixture
def tokens(client, user) -> dict:
    return login(client, user.username)


@pytest.fixture
def auth(tokens) -> dict:
    """Headers of an ordinary user with a fresh access token."""
    return bearer(tokens["access_token"])


@pytest.fixture
def stranger_auth(client, db) -> dict:
    """Headers of a signed-in user who belongs to no store (fresh token)."""
    make_user(db, "mallory")
    return bearer(login(client, "mallory")["access_token"])


@pytest.fixture
def admin(db):
    return make_user(db, "root", is_admin=True)


@pytest.fixture
def admin_tokens(client, admin) -> dict:
    return login(client, admin.username)


@pytest.fixture
def admin_auth(admin_tokens) -> dict:
    """Headers of an admin with a fresh access token."""
    return bearer(admin_tokens["access_token"])


@pytest.fixture
def stale_admin_auth(client, admin_tokens) -> dict:
    """Headers of an admin whose access token came from a refresh: not fresh."""
    response = client.post(f"{API}/auth/refresh", headers=bearer(admin_tokens["refresh_token"]))
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def create(client, auth, path: str, body: dict) -> dict:
    response = client.post(f"{API}{path}", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def store(client, auth) -> dict:
    return create(client, auth, "/stores", {"name": "Corner Shop"})


@pytest.fixture
def other_store(client, auth) -> dict:
    return create(client, auth, "/stores", {"name": "Market Hall"})


@pytest.fixture
def item(client, auth, store) -> dict:
    return create(client, auth, "/items", {"name": "Lamp", "price": 19.99, "store_id": store["id"]})


@pytest.fixture
def tag(client, auth, store) -> dict:
    return create(client, auth, f"/stores/{store['id']}/tags", {"name": "on-sale"})


def assert_problem(response, status: int, detail_contains: str | None = None) -> dict:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"] == "about:blank"
    assert "Traceback" not in response.text
    if detail_contains is not None:
        assert detail_contains in body["detail"], body
    return body


def assert_unauthorized(response, detail_contains: str | None = None) -> dict:
    body = assert_problem(response, 401, detail_contains)
    assert response.headers["www-authenticate"] == "Bearer"
    return body
