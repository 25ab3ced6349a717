"""Every string, array and integer in the spec has its bounds (issue 41):
what a caller sends or reads is never limited by the service's body or
header limits alone, and a generated client picks a type that holds every
value. As OWASP's API Security ruleset for Spectral asks: a string has
`maxLength`, an `enum` or a `const`; an array has `maxItems`; an integer
its `format` (int32 or int64), `minimum` and `maximum`."""

from collections.abc import Iterator

# Values, not schemas: what an example says is no bound to check.
_NOT_SCHEMAS = ("example", "examples", "x-rate-limits")
INTEGER_FORMATS = ("int32", "int64")


def unbounded(spec: dict) -> list[str]:
    """A line per string or array schema without its bound."""
    problems = []
    for where, schema in _schemas(spec, "#"):
        kind = schema.get("type")
        if kind == "string" and not {"maxLength", "enum", "const"} & schema.keys():
            problems.append(f"{where}: a string without maxLength")
        elif kind == "array" and "maxItems" not in schema:
            problems.append(f"{where}: an array without maxItems")
        elif kind == "integer":
            if schema.get("format") not in INTEGER_FORMATS:
                problems.append(f"{where}: an integer without format (int32 or int64)")
            problems += [f"{where}: an integer without {bound}"
                         for bound in ("minimum", "maximum") if bound not in schema]
    return problems


def _schemas(node, where: str) -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield where, node
        for key, value in node.items():
            if key not in _NOT_SCHEMAS:
                yield from _schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schemas(value, f"{where}/{index}")
