"""The spec's operations, walked one way for every reader: the operation
policies, the path parameters, the `Allow` header and `openapi check`.
The factory walks once and hands each of them the list (`Operations`)."""

from collections.abc import Iterator

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# (path, method, operation) of every operation, in the spec's order.
Operations = list[tuple[str, str, dict]]


def operations_of(document: dict) -> Iterator[tuple[str, str, dict]]:
    """(path, method, operation) of every operation, in the spec's order."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation


def walked(document: dict, operations: Operations | None) -> Operations:
    """`operations` as the caller walked them, or walked now."""
    return list(operations_of(document)) if operations is None else operations
