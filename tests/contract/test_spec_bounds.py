"""Every string, array and integer of the spec has its bounds: `openapi
check` says where one lacks them (api/contract/spec_bounds.py)."""

from api.contract.spec_bounds import unbounded
from openapi import load_spec


def test_the_spec_bounds_every_string_array_and_integer():
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


def test_an_integer_without_its_format_or_range_is_named():
    spec = {"components": {"schemas": {
        "Id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**31 - 1},
        "Count": {"type": "integer", "minimum": 0},
        "Status": {"type": "integer", "format": "int32", "minimum": 100},
        "Wide": {"type": "integer", "format": "int16", "minimum": 0, "maximum": 9},
    }}}
    assert unbounded(spec) == [
        "#/components/schemas/Count: an integer without format (int32 or int64)",
        "#/components/schemas/Count: an integer without maximum",
        "#/components/schemas/Status: an integer without maximum",
        "#/components/schemas/Wide: an integer without format (int32 or int64)",
    ]
