"""Request bodies read as strict JSON, before any schema sees them.

Python's `json` is lenient where a hostile caller can hurt: it accepts NaN and
Infinity, keeps the last of two equal keys, lets lone surrogates into strings
(which no database or hash can encode), reads numbers through binary floats (so
19.9900000000000000001 passes for 19.99) and recurses until RecursionError.
`parse_json` refuses each of those as a 400 that says what rule was broken and
never repeats what was sent.
"""

import json
from decimal import Decimal

from connexion.exceptions import BadRequestProblem

# Deeper than any body of this API (two levels at most) by a wide margin, and
# far below where the parser or the schema validator would recurse out.
MAX_DEPTH = 32


class _Refused(ValueError):
    """A rule of ours, not a syntax error; its message is safe to show."""


def parse_json(raw: bytes):
    """The JSON value in `raw` (UTF-8), with every non-integer number a Decimal
    exactly as written; None for an empty body."""
    if not raw:
        return None
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_float=_non_integer,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except _Refused as exc:
        raise BadRequestProblem(detail=f"the body is refused: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadRequestProblem(
            detail=f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError:
        raise BadRequestProblem(detail="the body is not valid JSON: it is not UTF-8") from None
    except RecursionError:
        raise BadRequestProblem(detail=_too_deep()) from None
    except ValueError:  # an integer with more digits than Python converts
        raise BadRequestProblem(detail="the body is not valid JSON: a number is too long") from None
    _check_depth_and_text(value)
    return value


def _non_integer(text: str) -> Decimal:
    """A number written with a fraction or an exponent, with a fraction digit
    kept: `1.5e1` is Decimal('15.0'), not Decimal('15'). Draft 4's integer is
    written with neither, and jsonschema-rs (api.contract.schema_checks) reads a Decimal
    by its text. -0.0 is 0.0: zero has no sign in this API."""
    number = non_negative_zero(Decimal(text))
    sign, digits, exponent = number.as_tuple()
    if exponent == 0:
        return Decimal((sign, (*digits, 0), -1))
    return number


def non_negative_zero(number: Decimal) -> Decimal:
    return number.copy_abs() if number.is_zero() else number


def _refuse_constant(name: str):
    raise _Refused(f"{name} is not a JSON number")


def _object_without_duplicates(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refused("an object has the same key twice")
    return obj


def _too_deep() -> str:
    return f"the body is refused: it nests deeper than {MAX_DEPTH} levels"


def _check_depth_and_text(value) -> None:
    """Iteratively, so that checking cannot recurse either."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise BadRequestProblem(detail=_too_deep())
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                if isinstance(key, str):
                    _check_text(key)
                pending.append((child, depth + 1))


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestProblem(
            detail="the body is refused: a string holds a lone surrogate (\\ud800-\\udfff)"
        ) from None
