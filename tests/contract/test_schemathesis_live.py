"""Schemathesis's command line against a real server: every operation, every
check, every phase. The seed and the example counts keep the run reproducible
and bounded; the JUnit reports land in reports/."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.contract.spec_walk import operations_of
from api.runtime.metrics import KNOWN_METHODS, NO_OPERATION
from openapi import load_spec
from tests.conftest import ON_POSTGRES, run_cli
from tests.http import call, register_and_login

PROJECT = Path(__file__).resolve().parents[2]
REPORTS = PROJECT / "reports"
SEED = "20261125"
ADMIN, PASSWORD = "schemathesis-admin", "schemathesis-password"
# Enough examples to find what a fuzzer finds here, few enough for 2 cores.
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40")
RUN_TIMEOUT = 900
REPORT_SUFFIX = "-postgresql" if ON_POSTGRES else ""


# The module's server (tests/conftest.py) answers only what the spec allows.
SERVER_OPTIONS = {"VALIDATE_RESPONSES": "true", "LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module", autouse=True)
def admin(server):
    made = run_cli(server.env, "create-admin", ADMIN, "--password-stdin", stdin=PASSWORD)
    assert made.returncode == 0, made.stderr


def schemathesis(url: str, report: str, *options: str, hooks: str | None,
                 users: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`hooks`: the module of auth hooks to load, or None for no credentials."""
    REPORTS.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "STORES_API_URL": url,
           "STORES_API_ADMIN": ADMIN, "STORES_API_USERS": ",".join(users),
           "STORES_API_PASSWORD": PASSWORD}
    env.pop("SCHEMATHESIS_HOOKS", None)
    if hooks:
        env["SCHEMATHESIS_HOOKS"] = hooks
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"{url}/api/v1/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", SEED,
        "--no-color",
        "--report", "junit", "--report-junit-path", str(REPORTS / report),
        *options,
    ]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


def test_schemathesis_finds_no_failure_as_an_admin(server):
    result = schemathesis(server.url, f"schemathesis{REPORT_SUFFIX}.xml",
                          "--max-examples", MAX_EXAMPLES, hooks="tests.contract.hooks")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "passed" in result.stdout
    assert '"status": 500' not in server.log()


def test_schemathesis_finds_no_failure_without_credentials(server):
    result = schemathesis(server.url, f"schemathesis-anonymous{REPORT_SUFFIX}.xml",
                          "--max-examples", "5", hooks=None)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def test_schemathesis_finds_no_failure_as_two_users_taking_turns(server):
    """The stateful phase follows one user's create with the other's change:
    the 403s of another's store are checked against the spec too."""
    # Made now: the admin's run may have deleted any account made before it.
    users = ("schemathesis-ann", "schemathesis-ben")
    for user in users:
        assert register_and_login(server.api, user, PASSWORD)
    result = schemathesis(server.url, f"schemathesis-two-users{REPORT_SUFFIX}.xml",
                          "--max-examples", "20", hooks="tests.contract.two_users", users=users)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "passed" in result.stdout
    assert '"status": 500' not in server.log()
    # The store role's refusals were met (the server logs each problem's detail).
    assert "owner or editor role in store" in server.log()


def test_the_runs_leave_metric_series_within_operations_times_statuses(server):
    """After the fuzzers (this module's tests above, in order), the request
    histogram has a series per operation, method and status it saw: each
    status one the spec documents for that operation, and no path or method
    a fuzzer invented among the labels."""
    spec = load_spec()
    documented = {operation["operationId"]: set(operation["responses"])
                  for _path, _method, operation in operations_of(spec)}
    statuses = set().union(*documented.values())
    reply = call("GET", f"{server.url}/metrics")
    assert reply.status == 200
    series = [sample.labels for family in text_string_to_metric_families(reply.body.decode())
              for sample in family.samples
              if sample.name == "http_server_request_duration_seconds_count"]
    assert len(series) > len(documented)  # the fuzzers reached most operations
    assert len(series) <= (len(documented) + 1) * len(statuses)
    for labels in series:
        if labels["operation_id"] != NO_OPERATION:
            assert labels["http_response_status_code"] in documented[labels["operation_id"]], \
                labels
        assert labels["http_request_method"] in KNOWN_METHODS | {"_OTHER"}
