"""jsonschema-rs in front of jsonschema (api/contract/schema_checks.py): for every
request schema of the spec, drawn values near and across its rules, the two
agree; a value jsonschema-rs accepted and jsonschema refused would be a check
dropped."""

from decimal import Decimal

import pytest
from connexion.json_schema import resolve_refs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.contract.json_body import parse_json
from api.contract.schema_checks import SchemaCheck, json_schema_of
from api.contract.validation import ParameterSchemaValidator, RequestSchemaValidator, compiled
from openapi import load_spec

SPEC = resolve_refs(load_spec())
METHODS = ("get", "put", "post", "delete", "patch")


def _request_schemas():
    for path, item in SPEC["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for parameter in [*shared, *operation.get("parameters", [])]:
                yield (f"{method} {path} {parameter['in']} {parameter['name']}",
                       ParameterSchemaValidator, parameter["schema"])
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{method} {path} body {media_type}", RequestSchemaValidator, content["schema"]


REQUEST_SCHEMAS = list(_request_schemas())

# Text near every rule the spec's strings have: control characters, blanks,
# NUL, the C1 range, astral characters, and lengths either side of the bounds.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.text(st.sampled_from(["a", " ", "\t", "\n", "\x00", "\x1f", "\x7f", "\x85", "\x9f",
                             "\u00a0", "\u2028", "é", "😀", "$", "^"]), max_size=6),
    st.builds(lambda n, c: c * n, st.integers(0, 1002), st.sampled_from(["x", "😀", " "])),
)
# Numbers as a body's parser makes them (ints, and Decimals for the rest), and
# as Connexion makes a query's (ints and floats).
NUMBERS = st.one_of(
    st.integers(-3, 3),
    st.integers(2**31 - 2, 2**31 + 1),
    st.integers(-(2**70), 2**70),
    st.from_regex(r"-?(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?([eE][+-]?[0-9]{1,2})?", fullmatch=True)
    .map(lambda text: parse_json(text.encode())),
    st.decimals(allow_nan=False, allow_infinity=False).map(
        lambda number: parse_json(str(number).encode())),
    st.floats(allow_nan=False, allow_infinity=False),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)), max_leaves=6)


def values_for(schema: dict):
    """Values of the schema's shape, mostly, and any JSON value sometimes."""
    properties = schema.get("properties")
    if properties is not None:
        fields = {name: values_for(sub) for name, sub in properties.items()}
        required = set(schema.get("required", []))
        shaped = st.fixed_dictionaries(
            {name: value for name, value in fields.items() if name in required},
            optional={**{name: value for name, value in fields.items() if name not in required},
                      "unknown": JSON})
        return st.one_of(shaped, shaped, shaped, JSON)
    if schema.get("type") == "array":
        return st.one_of(st.lists(values_for(schema.get("items", {})), max_size=4), JSON)
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), SCALARS)
    return SCALARS


def test_the_spec_has_request_schemas_of_every_kind():
    kinds = {name.split()[2] for name, _, _ in REQUEST_SCHEMAS}
    assert {"path", "query", "body"} <= kinds


@pytest.mark.parametrize(("validator_class", "schema"),
                         [pytest.param(cls, schema, id=name) for name, cls, schema in REQUEST_SCHEMAS])
# As many examples as the run's Hypothesis profile says (tests/conftest.py).
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_jsonschema_rs_agrees_with_jsonschema(validator_class, schema, data):
    exact = compiled(validator_class, schema)
    check = compiled(validator_class, schema, native_first=True)
    value = data.draw(values_for(schema))
    assert check.fast.is_valid(value) == exact.is_valid(value)


def test_nullable_is_written_as_draft_4():
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "nullable": True},
        "b": {"type": "string", "enum": ["x"], "nullable": True},
        "c": {"type": "string"},
        "d": {"type": "array", "items": {"type": "integer", "x-nullable": True}},
        "nullable": {"type": "boolean"},  # a property of that name, not the keyword
    }}
    converted = json_schema_of(schema)
    assert converted["properties"]["a"]["type"] == ["string", "null"]
    assert converted["properties"]["b"]["enum"] == ["x", None]
    assert converted["properties"]["c"]["type"] == "string"
    assert converted["properties"]["d"]["items"]["type"] == ["integer", "null"]
    assert converted["properties"]["nullable"] == {"type": "boolean"}
    assert converted["type"] == "object"
    assert schema["properties"]["a"]["type"] == "string"  # the spec's own is untouched


def test_a_refusal_is_worded_by_jsonschema():
    schema = {"type": "object", "required": ["price"],
              "properties": {"price": {"type": "number", "multipleOf": 0.01}}}
    check = SchemaCheck(schema, RequestSchemaValidator(schema))
    check.validate({"price": Decimal("0.29")})
    with pytest.raises(Exception) as refused:
        check.validate({"price": Decimal("0.291")})
    assert refused.value.validator == "multipleOf"
    assert list(refused.value.absolute_path) == ["price"]


def test_a_value_without_a_json_form_goes_to_jsonschema():
    schema = {"type": "array"}
    check = SchemaCheck(schema, RequestSchemaValidator(schema))
    with pytest.raises(Exception) as refused:
        check.validate({1, 2})  # jsonschema-rs cannot read a set: jsonschema refuses it
    assert refused.value.validator == "type"


def test_every_page_holds_at_most_the_largest_limit():
    schemas = load_spec()["components"]["schemas"]
    largest = load_spec()["components"]["parameters"]["Limit"]["schema"]["maximum"]
    pages = {name: schema for name, schema in schemas.items() if name.endswith("Page")}
    assert len(pages) == 6
    assert {name: page["properties"]["data"].get("maxItems") for name, page in pages.items()} \
        == dict.fromkeys(pages, largest)
