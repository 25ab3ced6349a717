"""Every string and array of the spec has its bound: `openapi check` says
where one lacks it (api/contract/spec_bounds.py)."""

from api.contract.spec_bounds import unbounded
from openapi import load_spec


def test_the_spec_bounds_every_string_and_array():
    assert unbounded(load_spec()) == []


def test_a_string_or_array_without_its_bound_is_named():
    spec = {"components": {"schemas": {
        "Free": {"type": "string"},
        "Listed": {"type": "string", "enum": ["a"]},
        "Tags": {"type": "array", "items": {"type": "string", "maxLength": 5}},
        "Page": {"type": "object", "properties": {"data": {"type": "array", "maxItems": 3,
                                                           "items": {"type": "string"}}},
                 "example": {"type": "string"}},
    }}}
    assert unbounded(spec) == [
        "#/components/schemas/Free: a string without maxLength",
        "#/components/schemas/Tags: an array without maxItems",
        "#/components/schemas/Page/properties/data/items: a string without maxLength",
    ]
