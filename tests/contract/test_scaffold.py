"""`stores-api openapi scaffold`: a new operation of the spec gets a stub
that answers 501 through HTTP, and `openapi check` fails while it is left."""

import copy
import importlib

import pytest
import yaml

import api.cli
from api.app import create_app
from api.contract import scaffold, spec_checks
from openapi import load_spec
from tests.conftest import API, assert_problem

# What every answer of a limited operation carries.
RATE_LIMITED = {"RateLimit": {"$ref": "#/components/headers/RateLimit"},
                "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"}}
# What any operation may answer (api/contract/declared_statuses.py).
ANY_REQUEST = {status: {"$ref": f"#/components/responses/{name}"} for status, name in (
    ("400", "BadRequest"), ("401", "Unauthorized"), ("408", "RequestTimeout"),
    ("413", "PayloadTooLarge"), ("414", "UriTooLong"), ("415", "UnsupportedMediaType"),
    ("431", "HeadersTooLarge"), ("500", "InternalServerError"), ("503", "ServiceUnavailable"))}
# What a stub answers, until it is filled in.
NOT_IMPLEMENTED = {"description": "Not built yet.", "headers": RATE_LIMITED, "content": {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
HISTORY = {
    "parameters": [{"$ref": "#/components/parameters/ItemId"}],
    "get": {
        "operationId": "listItemHistory",
        "x-openapi-router-controller": "scaffolded.history",
        "tags": ["items"],
        "summary": "An item's past versions",
        "parameters": [{"name": "since", "in": "query",
                        "schema": {"type": "string", "maxLength": 40}}],
        "responses": {
            "200": {"description": "Its versions.", "headers": RATE_LIMITED,
                    "content": {"application/json": {"schema": {"type": "array",
                                                                "maxItems": 100}}}},
            **ANY_REQUEST,
            "429": {"$ref": "#/components/responses/TooManyRequests"},
            "501": NOT_IMPLEMENTED,
        },
    },
    "post": {
        "operationId": "restoreItemVersion",
        "x-openapi-router-controller": "scaffolded.history",
        "tags": ["items"],
        "summary": "Make a past version the current one",
        "description": "**Who may:** the store's owners and editors, and admins.",
        "x-store-role": {"store": "item", "role": "editor"},
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"version": {"type": "integer"}}}}}},
        "responses": {**ANY_REQUEST,
                      "403": {"$ref": "#/components/responses/NotStoreEditor"},
                      "429": {"$ref": "#/components/responses/TooManyRequests"},
                      "501": NOT_IMPLEMENTED},
    },
}


@pytest.fixture
def spec_with_a_new_path(tmp_path, monkeypatch):
    document = load_spec()
    document["paths"]["/items/{item_id}/history"] = copy.deepcopy(HISTORY)
    path = tmp_path / "spec" / "swagger.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    monkeypatch.syspath_prepend(str(tmp_path / "handlers"))
    yield document, path, tmp_path / "handlers"
    for name in [name for name in list(importlib.sys.modules) if name.startswith("scaffolded")]:
        del importlib.sys.modules[name]


def test_a_stub_per_new_operation_with_the_arguments_connexion_passes(spec_with_a_new_path):
    document, _, _ = spec_with_a_new_path
    stubs = scaffold.missing_handlers(document)
    assert [(s.module, s.function, s.arguments) for s in stubs] == [
        ("scaffolded.history", "list_item_history", ["item_id", "since=None"]),
        ("scaffolded.history", "restore_item_version", ["item_id", "body"]),
    ]


def test_a_scaffolded_operation_answers_501_and_check_fails_until_it_is_filled_in(
        spec_with_a_new_path, settings, auth, item, monkeypatch, capsys):
    document, spec_path, handlers = spec_with_a_new_path
    written = scaffold.write(scaffold.missing_handlers(document), root=handlers)
    assert written == [handlers / "scaffolded" / "history.py"] * 2
    importlib.invalidate_caches()

    with create_app(settings, spec_path=spec_path).test_client() as client:
        listed = client.get(f"{API}/items/{item['id']}/history?since=x", headers=auth)
        assert_problem(listed, 501, "listItemHistory is not implemented yet")
        restored = client.post(f"{API}/items/{item['id']}/history", json={"version": 1},
                               headers=auth)
        assert_problem(restored, 501, "restoreItemVersion is not implemented yet")
        assert_problem(client.post(f"{API}/items/{item['id']}/history", json={"version": "1"},
                                   headers=auth), 400)  # validated as the spec says

    assert spec_checks.stubbed_operations(document) == [
        "operationId listItemHistory is a stub (scaffolded.history.list_item_history): "
        "fill it in",
        "operationId restoreItemVersion is a stub "
        "(scaffolded.history.restore_item_version): fill it in",
    ]
    monkeypatch.setattr("openapi.SPEC_PATH", spec_path)
    assert api.cli.main(["openapi", "check"]) == 1
    assert "listItemHistory is a stub" in capsys.readouterr().err


def test_a_stub_joins_an_existing_module_after_its_imports(tmp_path):
    module = tmp_path / "handlers.py"
    module.write_text('"""Handlers."""\n\nimport json\n\n\ndef old():\n    return json\n')
    stub = scaffold.Stub("handlers", "new_one", "newOne", ["thing_id"])
    scaffold.write([stub], root=tmp_path)
    text = module.read_text()
    assert text.index("import json") < text.index(scaffold.STUB_IMPORT) < text.index("def old")
    assert text.endswith('def new_one(thing_id):\n    """newOne: written by `stores-api '
                         'openapi scaffold`; fill it in."""\n    raise not_implemented("newOne")\n')
    namespace = {}
    exec(compile(text, str(module), "exec"), namespace)
    assert scaffold.is_stub(namespace["new_one"])


def test_the_command_finds_every_operation_of_the_spec_handled(capsys):
    assert api.cli.main(["openapi", "scaffold"]) == 0
    assert capsys.readouterr().out == "every operation has its handler\n"


@pytest.mark.parametrize("operation_id, controller", [
    ('x"); import os; ("', "api.items"),
    ("listThings", "api/../../etc"),
    ("class", "api.items"),
])
def test_nothing_but_python_names_is_written_as_a_stub(operation_id, controller):
    document = {"paths": {"/x": {"get": {"operationId": operation_id,
                                         "x-openapi-router-controller": controller}}}}
    with pytest.raises(ValueError, match="no module.function"):
        scaffold.missing_handlers(document)
