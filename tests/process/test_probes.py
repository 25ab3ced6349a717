"""/livez, /readyz and /metrics: outside the contract, for operators."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, event, text

from api.process import migrate
from api.process.metrics import sample_pools
from api.process.probes import OperatorEndpoints
from api.runtime.draining import DRAINING
from api.runtime.version import package_version
from openapi import load_spec
from tests.conftest import API, PASSWORD, assert_problem, bearer, login

LOOPBACK = ("127.0.0.1", 40000)
SPEC = load_spec()


def samples(client, name: str) -> dict[tuple, float]:
    """The scrape's samples called `name`, by their labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    # The session's registry holds every series its tests made: only the
    # samples of `name` are parsed.
    lines = "\n".join(line for line in response.text.splitlines() if line.startswith(name))
    found = {}
    for family in text_string_to_metric_families(lines + "\n"):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def count(client, operation_id: str, method: str, status: int) -> float:
    key = (("http_request_method", method), ("http_response_status_code", str(status)),
           ("operation_id", operation_id))
    return samples(client, "http_server_request_duration_seconds_count").get(key, 0.0)


@pytest.fixture
def local(app):
    """A client on the loopback address, as Prometheus on the same host."""
    with app.test_client(client=LOOPBACK) as client:
        yield client


def test_livez_answers_without_asking_anything(client):
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_names_each_check_to_those_who_may_read_metrics(local, client):
    response = local.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {
        "database": "ok", "schema": "ok", "shutdown": "ok"}}
    # Anyone else learns ready or not: not the migration state, the
    # database's error, Redis's state or the drain.
    outsider = client.get("/readyz")
    assert (outsider.status_code, outsider.json()) == (200, {"status": "ready"})


def test_readyz_is_503_once_sigterm_was_received(local, monkeypatch):
    assert local.get("/readyz").status_code == 200
    monkeypatch.setattr(DRAINING, "since", 1.0)
    response = local.get("/readyz")  # at once, though the other checks are kept
    assert response.status_code == 503
    assert response.json()["checks"]["shutdown"] == "stopping: SIGTERM received"
    assert local.get("/livez").status_code == 200


def test_a_flood_of_probes_makes_one_check_on_one_connection(app_with):
    """150 probes at once: every one 200 while the database is up, and the
    worker asks the database once, on a connection of its probes' own."""
    app = app_with()
    opened, asked = [], []
    with app.test_client(client=LOOPBACK) as client:
        client.get("/livez")  # Connexion builds its layers on the first request
        readiness = next(layer for layer in app.middleware.middleware_stack
                         if isinstance(layer, OperatorEndpoints)).readiness
        event.listen(readiness.engine, "connect", lambda *_: opened.append(1))
        event.listen(readiness.engine, "before_cursor_execute",
                     lambda _conn, _cursor, statement, *_: asked.append(statement))
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda _: client.get("/readyz").status_code, range(150)))
    assert answers == [200] * 150
    assert len(opened) <= 1 and 1 <= len(asked) <= 3, (opened, asked)


def test_database_down_livez_200_readyz_503(app_without_database):
    with app_without_database.test_client(client=LOOPBACK) as client:
        assert client.get("/livez").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "checks": {
        "database": "unavailable (OperationalError)", "schema": "unknown", "shutdown": "ok"}}


def test_a_schema_one_migration_behind_is_503_naming_it(app_with, tmp_path):
    url = f"sqlite:///{tmp_path}/behind.db"
    migrate.upgrade(url)
    migrate.downgrade(url, "-1")
    head = migrate.script_directory(url).get_revision("head")
    app = app_with(database_url=url)
    with app.test_client(client=LOOPBACK) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    schema = response.json()["checks"]["schema"]
    assert schema.startswith("behind the migrations' head by 1: ")
    assert head.revision in schema and head.doc.strip() in schema


def test_probes_are_neither_logged_nor_counted(local, access_lines):
    before = count(local, "none", "GET", 200)
    for _ in range(3):
        assert local.get("/livez").status_code == 200
        assert local.get("/readyz").status_code == 200
    assert count(local, "none", "GET", 200) == before
    local.get(f"{API}/health")
    assert [line["path"] for line in access_lines] == [f"{API}/health"]


def test_metrics_count_each_request_by_operation_method_and_status(local, auth, store):
    before = count(local, "getStore", "GET", 200)
    missing_before = count(local, "getStore", "GET", 404)
    for _ in range(7):
        assert local.get(f"{API}/stores/{store['id']}", headers=auth).status_code == 200
    assert local.get(f"{API}/stores/999999", headers=auth).status_code == 404
    assert count(local, "getStore", "GET", 200) == before + 7
    assert count(local, "getStore", "GET", 404) == missing_before + 1
    buckets = samples(local, "http_server_request_duration_seconds_bucket")
    inf = (("http_request_method", "GET"), ("http_response_status_code", "200"),
           ("le", "+Inf"), ("operation_id", "getStore"))
    assert buckets[inf] == count(local, "getStore", "GET", 200)


def test_unknown_paths_and_methods_never_become_labels(local):
    path = f"/no-such-{uuid.uuid4().hex}"
    before = count(local, "none", "GET", 404)
    assert local.get(path).status_code == 404
    assert local.request("BREW", f"{API}/stores").status_code in (400, 405)
    text = local.get("/metrics").text
    assert path not in text and "BREW" not in text
    assert count(local, "none", "GET", 404) == before + 1
    assert any(key[0] == ("http_request_method", "_OTHER")
               for key in samples(local, "http_server_request_duration_seconds_count"))


def test_metrics_from_another_address_is_the_404_of_any_unknown_path(client):
    unknown = client.get(f"/no-such-{uuid.uuid4().hex}")
    refused = client.get("/metrics")  # the test client's address is no IP
    assert (refused.status_code, refused.json()) == (404, unknown.json())
    assert refused.headers["content-type"] == "application/problem+json"
    with client.app.test_client(client=("203.0.113.9", 5)) as outsider:
        assert outsider.get("/metrics").status_code == 404


def test_metrics_allowed_ips_let_a_network_scrape(app_with):
    app = app_with(metrics_allowed_ips=("10.1.0.0/16",))
    with app.test_client(client=("10.1.2.3", 5)) as inside:
        assert inside.get("/metrics").status_code == 200
    with app.test_client(client=("10.2.0.1", 5)) as outside:
        assert outside.get("/metrics").status_code == 404
    with app.test_client(client=("::ffff:10.1.2.3", 5)) as mapped:
        assert mapped.get("/metrics").status_code == 200


def test_metrics_off_is_404_even_to_loopback(app_with):
    app = app_with(metrics_enabled=False)
    with app.test_client(client=LOOPBACK) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/livez").status_code == 200


def test_build_info_names_the_version_and_the_contract(local):
    info = samples(local, "stores_api_build_info")
    assert info[(("contract_version", SPEC["info"]["version"]),
                 ("version", package_version()))] == 1


def test_pool_gauges_are_sampled(local, services):
    sample_pools([services.database.engine, services.database.reads])
    size = samples(local, "stores_api_db_pool_size")[()]
    assert size >= 1
    assert samples(local, "stores_api_db_pool_checked_out")[()] >= 0
    assert samples(local, "stores_api_db_pool_overflow")[()] >= 0


def counter(client, name: str, **labels) -> float:
    return samples(client, name).get(tuple(sorted(labels.items())), 0.0)


def test_login_failures_refreshes_and_reuse_are_counted(local, user):
    failures = counter(local, "stores_api_login_failures_total")
    response = local.post(f"{API}/auth/login", json={"username": user.username,
                                                     "password": "wrong-" + PASSWORD})
    assert response.status_code == 401
    assert counter(local, "stores_api_login_failures_total") == failures + 1

    refreshes = counter(local, "stores_api_token_refreshes_total")
    reuses = counter(local, "stores_api_refresh_token_reuses_total")
    pair = login(local, user.username)
    refreshed = local.post(f"{API}/auth/refresh", headers=bearer(pair["refresh_token"]))
    assert refreshed.status_code == 200
    assert counter(local, "stores_api_token_refreshes_total") == refreshes + 1
    assert counter(local, "stores_api_refresh_token_reuses_total") == reuses


def test_idempotency_replays_and_refusals_are_counted(local, auth):
    def outcome(name):
        return counter(local, "stores_api_idempotency_keys_total", outcome=name)

    replayed, unprocessable = outcome("replayed"), outcome("unprocessable")
    key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    assert local.post(f"{API}/stores", json={"name": "Once"}, headers=key).status_code == 201
    assert local.post(f"{API}/stores", json={"name": "Once"}, headers=key).status_code == 201
    assert outcome("replayed") == replayed + 1
    assert_problem(local.post(f"{API}/stores", json={"name": "Other"}, headers=key), 422)
    assert outcome("unprocessable") == unprocessable + 1


def test_rate_limit_refusals_are_counted_per_policy(app_with):
    app = app_with(rate_limit_scale=0.05)
    with app.test_client(client=LOOPBACK) as client:
        before = counter(client, "stores_api_rate_limit_refusals_total", policy="login-address")
        statuses = [client.post(f"{API}/auth/login", json={
            "username": f"nobody{n}", "password": "wrong-" + PASSWORD}).status_code
            for n in range(3)]
        assert 429 in statuses
        after = counter(client, "stores_api_rate_limit_refusals_total", policy="login-address")
    assert after == before + statuses.count(429)


def test_access_lines_name_the_operation_and_its_route(client, auth, store, access_lines):
    client.get(f"{API}/stores/{store['id']}", headers=auth)
    line = access_lines[-1]
    assert line["operation_id"] == "getStore"
    assert line["route"] == f"{API}/stores/{{store_id}}"
    assert line["level"] == "INFO"



def test_a_schema_a_newer_release_migrated_keeps_the_host_ready(app_with, tmp_path):
    """`db upgrade` as a release step runs before the old hosts stop: they
    stay in the load balancer, as the migrations keep them working."""
    url = f"sqlite:///{tmp_path}/ahead.db"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    app = app_with(database_url=url)
    with app.test_client(client=LOOPBACK) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["schema"] == (
        "ok (at 9999, newer than this release's migrations)")
