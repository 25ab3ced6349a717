"""The same schema, driven in-process through Connexion's ASGI app: a fast
local run with the same checks and the same hooks as the live run."""

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import tests.contract.server_issued  # noqa: F401  (registers the data hooks)
from api.app import create_app
from api.process import migrate
from api.runtime.config import Settings
from tests.conftest import API, login, make_user

ADMIN = "contract-admin"
HYPOTHESIS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory, new_database):
    """An app and database of its own: the session's database is wiped per test."""
    folder = tmp_path_factory.mktemp("contract")
    url = new_database("contract")
    migrate.upgrade(url)
    app = create_app(Settings.from_env(
        {}, database_url=url, jwt_secret_key="contract-" + "k" * 64, instance_path=folder,
        validate_responses=True, log_level="ERROR", access_token_lifetime=timedelta(minutes=15),
        # Thousands of cases from one admin: the spec's quotas, scaled up by
        # configuration as on the live test servers.
        rate_limit_scale=1000,
    ))
    with app.services.database.session() as session:
        make_user(session, ADMIN, is_admin=True)
    return app


@pytest.fixture(scope="module")
def contract_schema(contract_app):
    schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", contract_app)
    # Entered for the module: its lifespan puts the services on every request.
    client = contract_app.test_client().__enter__()

    @schema.auth(refresh_interval=600).apply_to(path_regex="^(?!/auth/refresh)")
    class AdminAccessToken:
        def get(self, case, ctx):
            return login(client, ADMIN)["access_token"]

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @schema.auth(refresh_interval=None).apply_to(path_regex="^/auth/refresh$")
    class AdminRefreshToken:
        def get(self, case, ctx):
            return login(client, ADMIN)["refresh_token"]

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
        settings=settings(HYPOTHESIS, max_examples=8, stateful_step_count=5)
    )
