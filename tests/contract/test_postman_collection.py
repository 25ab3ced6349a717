"""The Postman collection of the tutorial's chain of requests
(openapi/postman/): written once, held to the spec here, and run by newman
(npm, pinned in openapi/tools) against a real server, every request passing
its own tests."""

import json
import re
import subprocess

import pytest

from api.contract.spec_walk import operations_of
from api.contract.validation import RequestSchemaValidator, compiled
from openapi import SPEC_PATH, load_spec
from tests.contract.node import npm_ci, require_node

COLLECTION_PATH = SPEC_PATH.parent / "postman" / "stores-api.postman_collection.json"
COLLECTION = json.loads(COLLECTION_PATH.read_text())
TOOLS = SPEC_PATH.parent / "tools"
SPEC = load_spec()
VARIABLE = re.compile(r"\{\{(\$?\w+)\}\}")
# What a variable stands for when a body is checked: what the chain sets.
SAMPLES = {"store_id": "1", "username": "postman-1", "password": "postman-password-1",
           "refresh_token": "x" * 300, "$timestamp": "1765000000"}


def operation_of(request: dict) -> tuple[str, dict]:
    """The spec's operation the request calls: its method, and its path with
    `{{variables}}` read as `{parameters}`."""
    path = "/" + "/".join(request["url"]["path"])
    template = VARIABLE.sub(lambda m: "{" + m[1] + "}", path)
    for spec_path, method, operation in operations_of(SPEC):
        if method.upper() == request["method"] and spec_path == template:
            return operation["operationId"], operation
    raise AssertionError(f"no operation of the spec is {request['method']} {template}")


@pytest.mark.parametrize("item", COLLECTION["item"], ids=[i["name"] for i in COLLECTION["item"]])
def test_each_request_is_an_operation_of_the_spec_as_it_declares_it(item):
    request = item["request"]
    operation_id, operation = operation_of(request)
    expected = re.findall(r"to\.have\.status\((\d+)\)", " ".join(item["event"][0]["script"]["exec"]))
    assert expected and set(expected) <= set(operation["responses"]), operation_id
    schema = operation.get("requestBody", {}).get("content", {}).get(
        "application/json", {}).get("schema")
    if "body" in request:
        raw = VARIABLE.sub(lambda m: SAMPLES[m[1]], request["body"]["raw"])
        compiled(RequestSchemaValidator, _resolved(schema)).validate(json.loads(raw))
    else:
        assert not operation.get("requestBody", {}).get("required"), operation_id


def test_the_chain_uses_what_the_requests_before_it_made():
    """Every variable a request uses is set by a request before it, or is
    Postman's own (`$timestamp`) or the one the user sets (`baseUrl`)."""
    set_so_far = {"baseUrl"}
    for item in COLLECTION["item"]:
        scripts = " ".join(line for event in item["event"] for line in event["script"]["exec"])
        pre = " ".join(line for event in item["event"] if event["listen"] == "prerequest"
                       for line in event["script"]["exec"])
        set_so_far |= set(re.findall(r'collectionVariables\.set\("(\w+)"', pre))
        used = set(VARIABLE.findall(json.dumps(item["request"]))) - {"$timestamp"}
        assert used <= set_so_far, (item["name"], used - set_so_far)
        set_so_far |= set(re.findall(r'collectionVariables\.set\("(\w+)"', scripts))
    assert COLLECTION["info"]["schema"].endswith("/v2.1.0/collection.json")


def _resolved(schema: dict) -> dict:
    """`schema` with the spec's components inlined: what a validator of its own needs."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolved(SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
        return {key: _resolved(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_resolved(value) for value in schema]
    return schema


@pytest.mark.live
def test_newman_runs_the_chain_against_a_real_server_every_test_passing(server, tmp_path):
    require_node("newman")
    npm_ci(TOOLS)
    report = tmp_path / "newman.json"
    result = subprocess.run(
        [TOOLS / "node_modules" / ".bin" / "newman", "run", str(COLLECTION_PATH),
         "--env-var", f"baseUrl={server.api}", "--reporters", "cli,json",
         "--reporter-json-export", str(report), "--bail", "--timeout-request", "30000"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    stats = json.loads(report.read_text())["run"]["stats"]
    assert stats["requests"] == {"total": len(COLLECTION["item"]), "pending": 0, "failed": 0}
    assert stats["assertions"]["failed"] == 0
    assert stats["assertions"]["total"] >= 2 * len(COLLECTION["item"]) - 4


def test_make_client_ships_the_collection_named_for_its_contract(tmp_path):
    from openapi.clients.build import main

    assert main(["--only", "postman", "--output", str(tmp_path)]) == 0
    shipped = tmp_path / f"stores-api-{SPEC['info']['version']}.postman_collection.json"
    assert json.loads(shipped.read_text()) == COLLECTION
