"""Path-level parameters folded into each operation before Connexion reads the spec."""


from api.contract.path_parameters import path_parameters_in_operations
from openapi import load_spec

SPEC = {
    "components": {"parameters": {"Id": {"name": "id", "in": "path", "required": True,
                                         "schema": {"type": "integer"}}}},
    "paths": {
        "/things/{id}": {
            "parameters": [{"$ref": "#/components/parameters/Id"},
                           {"name": "trace", "in": "header", "schema": {"type": "string"}}],
            "get": {"responses": {}},
            "put": {"parameters": [{"name": "trace", "in": "header",
                                    "schema": {"type": "integer"}}], "responses": {}},
            "description": "not an operation",
        },
    },
}


def test_shared_parameters_are_listed_in_every_operation_and_the_operations_own_win():
    folded = path_parameters_in_operations(SPEC)
    item = folded["paths"]["/things/{id}"]
    assert "parameters" not in item
    assert item["get"]["parameters"] == SPEC["paths"]["/things/{id}"]["parameters"]
    assert item["put"]["parameters"] == [
        {"name": "trace", "in": "header", "schema": {"type": "integer"}},
        {"$ref": "#/components/parameters/Id"}]
    assert item["description"] == "not an operation"
    assert "parameters" in SPEC["paths"]["/things/{id}"]  # the original is left alone


def test_the_contracts_operations_each_name_a_parameter_once():
    spec = load_spec()
    folded = path_parameters_in_operations(spec)
    for path, item in folded["paths"].items():
        for method, operation in item.items():
            names = [p.get("$ref") or (p["name"], p["in"])
                     for p in operation.get("parameters", [])]
            assert len(names) == len(set(names)), (path, method)
            shared = spec["paths"][path].get("parameters", [])
            assert all(p in operation["parameters"] for p in shared), (path, method)
