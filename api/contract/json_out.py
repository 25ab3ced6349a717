"""JSON out, written by orjson: response bodies and ETags.

orjson encodes the service's dicts of str, int, float, bool and None several
times faster than the standard library, with the same compact separators.
Where it refuses something json writes (a lone surrogate, an integer past 64
bits), json writes it, as before.
"""

import json

import orjson
from connexion.jsonifier import JSONEncoder

loads = json.loads  # Connexion reads bodies back with it; ours are parsed strictly elsewhere


def dumps_bytes(data, *, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(data, sort_keys=sort_keys, separators=(",", ":"),
                          cls=JSONEncoder).encode()


def dumps(data, **_connexion_defaults) -> str:
    """What Connexion's Jsonifier calls (with `cls`, which orjson needs not)."""
    return dumps_bytes(data).decode()
