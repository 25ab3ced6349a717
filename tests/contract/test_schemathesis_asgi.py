"""The same schema, driven in-process through Connexion's ASGI app: a fast
local run with the same checks and the same hooks as the live run."""

import hypothesis
import pytest
import schemathesis

import tests.contract.server_issued  # noqa: F401  (registers the data hooks)
from api.app import create_app
from api.process import migrate
from tests.conftest import API, make_user, signed_in

ADMIN = "contract-admin"
HYPOTHESIS = hypothesis.settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(scope="module")
def contract_app(settings, new_database):
    """An app and database of its own (the session's database is wiped per
    test), and its admin."""
    url = new_database("contract")
    migrate.upgrade(url)
    # Thousands of cases from one admin: the spec's quotas, scaled up by
    # configuration as on the live test servers.
    app = create_app(settings.but(database_url=url, log_level="ERROR", rate_limit_scale=1000))
    with app.services.database.session() as session:
        admin = make_user(session, ADMIN, is_admin=True)
    yield app, admin
    app.services.database.dispose()


@pytest.fixture(scope="module")
def contract_schema(contract_app):
    app, admin = contract_app
    schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", app)
    # Entered for the module: its lifespan puts the services on every request.
    client = app.test_client().__enter__()

    # Each 401 (hundreds: the negative cases) fetches new credentials: the
    # pair a login answers, minted without its password check.
    @schema.auth(refresh_interval=600).apply_to(path_regex="^(?!/auth/refresh)")
    class AdminAccessToken:
        def get(self, case, ctx):
            return signed_in(app.services, admin)["access_token"]

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @schema.auth(refresh_interval=None).apply_to(path_regex="^/auth/refresh$")
    class AdminRefreshToken:
        def get(self, case, ctx):
            return signed_in(app.services, admin)["refresh_token"]

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    yield schema
    client.__exit__(None, None, None)


schema = schemathesis.pytest.from_fixture("contract_schema")


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_keeps_the_contract(case):
    case.call_and_validate()


def test_stateful_sequences_keep_the_contract(contract_schema):
    contract_schema.as_state_machine().run(
        settings=hypothesis.settings(HYPOTHESIS, max_examples=8, stateful_step_count=5)
    )
