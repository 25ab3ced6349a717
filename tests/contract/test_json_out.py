"""JSON out: orjson where it can, json's answer where orjson refuses."""

import json

from api.contract.json_out import dumps, dumps_bytes

ITEM = {"id": 7, "name": "Käse ☕", "price": "0.10", "description": None, "tags": [],
        "created_at": "2026-11-26T10:00:00Z"}


def test_bodies_are_compact_json_that_reads_back_the_same():
    text = dumps(ITEM, cls=json.JSONEncoder)  # Connexion passes its encoder class
    assert json.loads(text) == ITEM
    assert ", " not in text and '": ' not in text


def test_sorted_keys_for_etags():
    assert dumps_bytes({"b": 1, "a": {"d": 2, "c": 3}}, sort_keys=True) == \
        b'{"a":{"c":3,"d":2},"b":1}'


def test_what_orjson_refuses_json_writes():
    lone_surrogate = {"name": "\ud800"}
    assert json.loads(dumps(lone_surrogate)) == lone_surrogate
    huge = {"n": 2**70}
    assert json.loads(dumps(huge)) == huge
