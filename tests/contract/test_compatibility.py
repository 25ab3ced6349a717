"""The compatibility gate: the current contract breaks no client of the last
release unless its major version says so, and the diff tool classifies
breaking and safe changes as a client team would."""

import copy
from pathlib import Path

import pytest
import yaml

import api.cli
from api.contract import compatibility
from api.contract.compatibility import (
    RELEASED,
    changes,
    latest_release,
    unmatched_acceptances,
    unreleased_breaks,
)
from tests.contract.node import require_node

BASE = {
    "openapi": "3.0.3",
    "info": {"title": "pair", "version": "1.0.0"},
    "paths": {"/things": {"get": {
        "operationId": "listThings",
        "parameters": [{"name": "colour", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["red", "blue"]}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Thing"}}}}},
    }, "post": {
        "operationId": "createThing",
        "requestBody": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ThingInput"}}}},
        "responses": {"201": {"description": "created"}},
    }}},
    "components": {"schemas": {
        "Thing": {"type": "object", "required": ["id", "name"],
                  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "ThingInput": {"type": "object", "properties": {"name": {"type": "string"}}},
    }},
}


def remove_operation(spec):
    del spec["paths"]["/things"]["post"]


def remove_response_property(spec):
    thing = spec["components"]["schemas"]["Thing"]
    del thing["properties"]["name"]
    thing["required"] = ["id"]


def require_optional_parameter(spec):
    spec["paths"]["/things"]["get"]["parameters"][0]["required"] = True


def narrow_enum(spec):
    spec["paths"]["/things"]["get"]["parameters"][0]["schema"]["enum"] = ["red"]


def change_type(spec):
    spec["components"]["schemas"]["Thing"]["properties"]["id"]["type"] = "string"


def rename_operation(spec):
    spec["paths"]["/things"]["get"]["operationId"] = "getThings"


def bound_a_request_property(spec):
    spec["components"]["schemas"]["ThingInput"]["properties"]["name"]["maxLength"] = 10


def bound_a_response_property(spec):
    # Only answers carry a Thing: a client is told less can come, never refused.
    spec["components"]["schemas"]["Thing"]["properties"]["name"]["maxLength"] = 10


def add_optional_property(spec):
    spec["components"]["schemas"]["ThingInput"]["properties"]["colour"] = {"type": "string"}


def add_operation(spec):
    spec["paths"]["/things/{id}"] = {"get": {
        "operationId": "getThing",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}}}}


@pytest.fixture(scope="module", autouse=True)
def node():
    require_node("the compatibility gate")


def pair(tmp_path: Path, change) -> tuple[Path, Path]:
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    changed = copy.deepcopy(BASE)
    change(changed)
    before.write_text(yaml.safe_dump(BASE))
    after.write_text(yaml.safe_dump(changed))
    return before, after


@pytest.mark.parametrize("change", [
    remove_operation, remove_response_property, require_optional_parameter, narrow_enum,
    change_type, rename_operation, bound_a_request_property,
])
def test_a_breaking_change_is_refused_without_a_new_major_version(change, tmp_path):
    before, after = pair(tmp_path, change)
    assert unreleased_breaks(before, after), change.__name__


@pytest.mark.parametrize("change", [add_optional_property, add_operation,
                                    bound_a_response_property])
def test_an_addition_breaks_nobody(change, tmp_path):
    before, after = pair(tmp_path, change)
    assert [c["type"] for c in changes(before, after) if c["type"] == "breaking"] == []


def accepting(tmp_path, monkeypatch, version: str, description: str) -> None:
    accepted = tmp_path / "accepted-breaks.yaml"
    accepted.write_text(yaml.safe_dump([{"version": version, "description": description,
                                         "why": "a test"}]))
    monkeypatch.setattr(compatibility, "ACCEPTED", accepted)


def test_a_break_accepted_for_this_version_passes_and_no_other(tmp_path, monkeypatch):
    before, after = pair(tmp_path, lambda spec: (bound_a_request_property(spec),
                                                 spec["info"].update(version="1.1.0")))
    [found] = unreleased_breaks(before, after)
    accepting(tmp_path, monkeypatch, "1.1.0", found["description"])
    assert unreleased_breaks(before, after) == []
    accepting(tmp_path, monkeypatch, "1.2.0", found["description"])  # another version's
    assert unreleased_breaks(before, after) == [found]


def test_an_acceptance_no_change_needs_fails_the_gate(tmp_path, monkeypatch):
    before, after = pair(tmp_path, lambda spec: spec["info"].update(version="1.1.0"))
    accepting(tmp_path, monkeypatch, "1.1.0", "[Added] maxLength validator to `name`")
    assert [entry["description"] for entry in unmatched_acceptances(changes(before, after),
                                                                    before, after)] == [
        "[Added] maxLength validator to `name`"]


def test_a_new_major_version_announces_the_break(tmp_path):
    before, after = pair(tmp_path, lambda spec: (remove_operation(spec), spec["info"].update(
        version="2.0.0")))
    assert unreleased_breaks(before, after) == []


def test_the_current_contract_breaks_no_client_of_the_last_release():
    assert latest_release().parent == RELEASED
    assert api.cli.main(["openapi", "diff"]) == 0


def test_the_rename_of_2_0_0_was_breaking_and_announced(capsys):
    assert api.cli.main(["openapi", "diff", str(RELEASED / "1.0.0.yaml")]) == 0
    out = capsys.readouterr().out
    assert "breaking: paths//items/post/operationId: operationId api.items.create_item is now " \
           "createItem" in out


def test_the_command_fails_on_a_break_the_version_does_not_announce(tmp_path, capsys):
    from openapi import load_spec

    released = load_spec()
    released["paths"]["/retired"] = copy.deepcopy(released["paths"]["/health"])
    released["paths"]["/retired"]["get"]["operationId"] = "getRetired"
    base = tmp_path / f"{released['info']['version']}.yaml"
    base.write_text(yaml.safe_dump(released, sort_keys=False))
    assert api.cli.main(["openapi", "diff", str(base)]) == 1
    assert "breaking changes need a new major version" in capsys.readouterr().err
