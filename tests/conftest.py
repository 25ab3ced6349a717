"""Fixtures: one app per test session, a clean database per test, and the
people and things the contract talks about (a user, a fresh admin, a store...)."""

import functools
import gc
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import hypothesis
import orjson
import pytest
from connexion.spec import OpenAPISpecification
from sqlalchemy import create_engine, delete, event
from sqlalchemy.engine import make_url

from api.app import StoresApp, create_app
from api.identity import security
from api.identity.passwords import PasswordHasher
from api.policies.access_log import ACCESS_LOGGER
from api.process import migrate
from api.process.logs import configure_logging
from api.runtime.config import Settings
from models import Base, User
from openapi import BASE_PATH, SPEC_PATH
from tests.in_thread_client import InThreadClient
from tests.live_server import LiveServer, live_server

API = BASE_PATH
PASSWORD = "correct-horse-battery"
# Passwords hashed at a test's cost (1 pass over 8 MiB: 10 ms, not 0.1 s),
# in process as on live servers (tests/live_server.py), unless a test is
# about what the hash costs.
TEST_HASH_COST = {"password_hash_time_cost": 1, "password_hash_memory_kib": 8192}
TEST_HASHER = PasswordHasher(*TEST_HASH_COST.values())
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"))

# Property tests draw Hypothesis's 100 examples each in `make test`, and 10
# in `make test-fast` (--hypothesis-profile=fast).
hypothesis.settings.register_profile("fast", max_examples=10)

# Tests that only mean something on PostgreSQL; skipped on SQLite (see below).
needs_postgres = pytest.mark.postgres
# The slow groups, by where they live: `make test-fast` leaves them out.
SLOW_GROUPS = {
    "live": ("tests/production/", "tests/contract/test_schemathesis_",
             "tests/contract/test_generated_", "tests/contract/test_lint.py",
             "tests/contract/test_compatibility.py", "tests/contract/test_prism_",
             "tests/test_wheel.py"),
    "browser": ("tests/browser/",),
}
# What no database can change (the spec, the clients, the docs in a browser,
# the package, the code's own shape): run on SQLite; the PostgreSQL run
# (tests/postgres_suite.py) leaves it out.
DATABASE_FREE = (
    "tests/browser/", "tests/bench/test_instructions.py", "tests/serving/", "tests/test_wheel.py",
    "tests/test_layers.py", "tests/test_connexion_seams.py", "tests/test_locks.py",
    "tests/contract/test_generated_", "tests/contract/test_lint.py",
    "tests/contract/test_compatibility.py", "tests/contract/test_schema_checks.py",
    "tests/contract/test_stored_text.py", "tests/contract/test_spec_bounds.py",
    "tests/contract/test_declared_statuses.py", "tests/contract/test_prices.py",
    "tests/contract/test_prism_proxy.py", "tests/contract/test_postman_collection.py",
    "tests/contract/test_scaffold.py", "tests/contract/test_json_out.py",
    "tests/contract/test_path_parameters.py", "tests/contract/test_resolver.py",
    "tests/runtime/test_config.py", "tests/process/test_heap.py",
    "tests/production/test_container.py",
    "tests/policies/test_rate_limit_windows.py", "tests/production/test_prometheus.py",
    "tests/api/test_server.py",
)


def pytest_collection_finish(session):
    # What imports and collection built lives as long as the session: once
    # frozen, no full collection walks it again, nor the ones pytest runs at
    # exit for unraisable exceptions (0.6 s a process before).
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    once = []
    for item in items:
        where = item.path.relative_to(root).as_posix()
        for marker, places in SLOW_GROUPS.items():
            if where.startswith(places):
                item.add_marker(marker)
        if item.get_closest_marker("postgres") and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(
                reason="needs PostgreSQL: `make test` runs it through "
                       "`python -m tests.postgres_suite`"))
        if ON_POSTGRES and where.startswith(DATABASE_FREE):
            once.append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if item not in once]


@pytest.fixture(scope="session")
def new_database(tmp_path_factory, worker_id):
    """A factory of empty databases on the suite's backend, all dropped at the end.

    On PostgreSQL they are siblings of TEST_DATABASE_URL's database, named
    after it and after the pytest-xdist worker that made them.
    """
    created = []
    in_memory = None if ON_POSTGRES else _memory_backed_directory()

    def make(label: str = "db") -> str:
        if not ON_POSTGRES:
            folder = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=in_memory)) if in_memory \
                else tmp_path_factory.mktemp(label)
            return f"sqlite:///{folder / 'stores.db'}"
        base = make_url(TEST_DATABASE_URL)
        name = f"{base.database}_{worker_id}_{len(created) + 1}"
        _on_postgres_server(f'CREATE DATABASE "{name}"')
        _on_postgres_server(f'ALTER DATABASE "{name}" SET {NO_WAIT_FOR_DISK}')
        created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        _on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if in_memory:
        shutil.rmtree(in_memory, ignore_errors=True)


# A test's commit need not wait for the disk: a database of the suite
# outlives no crash of the machine. SQLite's files go to memory where the
# machine has a tmpfs (each commit's fsync cost make test-fast 3-4 s of its
# 19), and PostgreSQL's databases commit without waiting for the WAL flush.
MEMORY_BACKED = Path("/dev/shm")
NO_WAIT_FOR_DISK = "synchronous_commit = off"


def _memory_backed_directory() -> str | None:
    if MEMORY_BACKED.is_dir() and os.access(MEMORY_BACKED, os.W_OK):
        return tempfile.mkdtemp(prefix="stores-tests-", dir=MEMORY_BACKED)
    return None


def _on_postgres_server(statement: str) -> None:
    engine = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def each_spec_validated_once():
    """Connexion checks the spec against OpenAPI's schema in every app it
    builds (0.1 s); the suite builds dozens of apps from one spec. Each
    distinct spec is still checked, the first time it is met."""
    validate = OpenAPISpecification._validate_spec.__func__
    checked = set()

    def once(cls, spec):
        digest = hashlib.sha256(orjson.dumps(
            spec, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)).digest()
        if digest not in checked:
            validate(cls, spec)
            checked.add(digest)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(OpenAPISpecification, "_validate_spec", classmethod(once))
        yield


@pytest.fixture(scope="session")
def database_url(new_database, worker_id):
    """The session's database, migrated: a fresh SQLite file, or on
    PostgreSQL TEST_DATABASE_URL's (a sibling of it per pytest-xdist worker)."""
    url = TEST_DATABASE_URL if ON_POSTGRES and worker_id == "master" else new_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory):
    return Settings.of(
        database_url=database_url,
        jwt_secret_key="test-secret-" + "k" * 64,
        instance_path=tmp_path_factory.mktemp("instance"),
        validate_responses=True,
        log_level="WARNING",
        **TEST_HASH_COST,
    )


@pytest.fixture(scope="session")
def app(settings):
    # As the command line does before it builds the app: whoever reads the
    # settings sets up logging from them (api/process/startup.py).
    configure_logging(settings)
    return create_app(settings)


@pytest.fixture
def app_with(settings):
    """A factory of apps whose settings differ from the session's by what it
    is given (and whose spec, given `spec_path`); each one's database
    connections are closed after the test."""
    built = []

    def make(spec_path: Path = SPEC_PATH, **changes) -> StoresApp:
        built.append(create_app(settings.but(**changes), spec_path=spec_path))
        return built[-1]

    yield make
    for app in built:
        app.services.database.dispose()


@pytest.fixture(scope="session")
def services(app):
    return app.services


@pytest.fixture(autouse=True)
def clean_database(services):
    yield
    with services.database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, new_database) -> LiveServer:
    """A real `stores-api serve` for the module's tests, on a database of
    its own, started as the module's SERVER_OPTIONS say (`workers`, and
    settings as environment variables); stopped after its last test."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    options = getattr(request.module, "SERVER_OPTIONS", {})
    with live_server(tmp_path_factory.mktemp(name), new_database(name), **options) as live:
        yield live


@pytest.fixture
def cli_env(tmp_path, monkeypatch, new_database) -> dict:
    """The environment of `stores-api` on a fresh database: set in this
    process (for `api.cli.main`) and returned (for `run_cli`)."""
    url = new_database("cli")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance")}


def run_cli(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`stores-api ARGS` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "api.cli", *args],
                          input=stdin, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def app_without_database(app_with, tmp_path):
    """An app whose database cannot be opened: SQLite's file is a folder."""
    return app_with(database_url=f"sqlite:///{tmp_path}")


@pytest.fixture
def client(app):
    """The app's client, in the test's thread (tests/in_thread_client.py)."""
    with InThreadClient(app) as client:  # runs the app's lifespan, as a server does
        yield client


@pytest.fixture
def threaded_client(app):
    """Starlette's test client: the app runs in a thread of its own, for
    tests that ask from several threads or wait for its background work."""
    with app.test_client() as client:
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


@contextmanager
def counting_statements(database):
    """The statements run on the database's pools (one on SQLite, two on
    PostgreSQL: the reads have their own)."""
    statements = []
    engines = {database.engine, database.reads}

    def count(conn, cursor, statement, *args):
        if not statement.startswith("BEGIN"):  # SQLite's explicit transactions
            statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = PASSWORD) -> dict:
    """A token pair from POST /auth/login: for tests about logging in."""
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def signed_in(services, user: User, *, fresh: bool = True) -> dict:
    """The token pair a login (`fresh`) or a refresh would answer `user`
    with, minted as the service mints them: for tests about something else
    than logging in, which need no password check."""
    return services.tokens.issue_pair(user, fresh=fresh)


@functools.cache
def password_hash(password: str) -> str:
    """`password` hashed at the suite's cost, once: a salt per user is the
    service's business, not its tests' (each hash is 10 ms)."""
    return TEST_HASHER.hash(password)


def make_user(db, username: str, *, is_admin: bool = False, password: str = PASSWORD) -> User:
    user = User(username=username, password_hash=password_hash(password), is_admin=is_admin)
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def user(db):
    return make_user(db, "alice")


@pytest.fixture
def tokens(services, user) -> dict:
    return signed_in(services, user)


@pytest.fixture
def auth(tokens) -> dict:
    """Headers of an ordinary user with a fresh access token."""
    return bearer(tokens["access_token"])


@pytest.fixture
def gone_auth(db, user, auth, monkeypatch) -> dict:
    """Headers of a user deleted after their token was checked, as when
    another host deletes them and this one's token view has not heard yet:
    the token passes, the user is gone."""
    monkeypatch.setattr(security, "_live_token_user", lambda *_: False)
    db.delete(db.get(User, user.id))
    db.commit()
    return auth


@pytest.fixture
def stranger_auth(services, db) -> dict:
    """Headers of a signed-in user who belongs to no store (fresh token)."""
    return bearer(signed_in(services, make_user(db, "mallory"))["access_token"])


@pytest.fixture
def admin(db):
    return make_user(db, "root", is_admin=True)


@pytest.fixture
def admin_tokens(services, admin) -> dict:
    return signed_in(services, admin)


@pytest.fixture
def admin_auth(admin_tokens) -> dict:
    """Headers of an admin with a fresh access token."""
    return bearer(admin_tokens["access_token"])


@pytest.fixture
def stale_admin_auth(services, admin) -> dict:
    """Headers of an admin whose access token came from a refresh: not fresh."""
    return bearer(signed_in(services, admin, fresh=False)["access_token"])


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
    return create(client, auth, "/items", {"name": "Lamp", "price": "19.99", "store_id": store["id"]})


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


def asking(client, method: str, path: str, headers: dict):
    """The request `method path` of a test client, to ask again and again."""
    return lambda: client.request(method, f"{API}{path}", headers=headers)


def answered_within(seconds: float, request, status: int):
    """The first answer with `status` of `request()`, asked again and again
    (of a test client or a live server): what another worker, host or command
    changed reaching the one that answers. Fails past `seconds`."""
    started = time.monotonic()
    while (response := request()).status_code != status:
        assert time.monotonic() - started < seconds, \
            f"still {response.status_code} after {seconds} s: {response.json()}"
        time.sleep(0.01)
    return response


def refused_within(seconds: float, request, detail_contains: str = "revoked") -> float:
    """Seconds until `request()` is refused as a revoked token's; it stays refused."""
    started = time.monotonic()
    answered_within(seconds, request, 401)
    elapsed = time.monotonic() - started
    for _ in range(3):
        assert_unauthorized(request(), detail_contains)
    return elapsed


def assert_unauthorized(response, detail_contains: str | None = None) -> dict:
    body = assert_problem(response, 401, detail_contains)
    assert response.headers["www-authenticate"] == "Bearer"
    return body
