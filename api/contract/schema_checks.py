"""A request's schemas checked in native code, with jsonschema still the judge.

Checking the body of `PUT /items/{id}` took jsonschema about 70 us per request,
a path id 7 us, out of the 2-3 ms of CPU a request costs in all; jsonschema-rs
(a compiled validator from Schemathesis's authors) takes 5 us and 0.3 us.

`SchemaCheck` asks jsonschema-rs first. What it accepts is accepted. What it
refuses, or cannot read (a type it has no JSON form for), goes to the
jsonschema validator Connexion's dialect is written in (`api.contract.validation`),
which decides and words the problem: every refusal, and every detail a caller
reads, is jsonschema's as before. What the two could disagree on is a value
jsonschema-rs accepts and jsonschema refuses; tests/contract/test_schema_checks.py
draws values for every request schema of the spec and fails on one.

jsonschema-rs checks the schema as JSON Schema Draft 4 says, where OpenAPI 3.0
adds `nullable`: `json_schema_of` writes that as Draft 4 (`null` among the
types and in the enum), as Connexion's validators read it. The spec's one
keyword of its own, `x-stored-as`, is checked by both (`api.contract.stored_text`).
"""

import jsonschema_rs

from api.contract.stored_text import KEYWORD, StoredAs

# Draft 4's keywords whose value is a schema, a list of them, or a map of them.
_ONE = ("additionalProperties", "additionalItems", "not")
_LIST = ("allOf", "anyOf", "oneOf")
_MAP = ("properties", "patternProperties", "definitions")


def json_schema_of(schema):
    """The OpenAPI 3.0 schema `schema`, with `nullable` written as Draft 4 has it."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _ONE:
        if isinstance(out.get(key), dict):
            out[key] = json_schema_of(out[key])
    if "items" in out:
        items = out["items"]
        out["items"] = [json_schema_of(s) for s in items] if isinstance(items, list) \
            else json_schema_of(items)
    for key in _LIST:
        if key in out:
            out[key] = [json_schema_of(s) for s in out[key]]
    for key in (*_MAP, "dependencies"):
        if isinstance(out.get(key), dict):
            out[key] = {name: json_schema_of(s) if isinstance(s, dict) else s
                        for name, s in out[key].items()}
    # Connexion's test (connexion.json_schema.allow_nullable).
    if out.get("x-nullable") is True or out.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types if "null" in types else [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


class SchemaCheck:
    """`validate(value)`: None, or the ValidationError `exact` raises."""

    def __init__(self, schema: dict, exact) -> None:
        self.fast = jsonschema_rs.Draft4Validator(json_schema_of(schema), validate_formats=True,
                                                  keywords={KEYWORD: StoredAs})
        self.exact = exact

    def validate(self, value) -> None:
        try:
            if self.fast.is_valid(value):
                return
        except ValueError:  # no JSON form (a set, bytes, a key that is not text)
            pass
        self.exact.validate(value)
