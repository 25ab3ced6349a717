"""The spec's operations, walked one way for every reader: the operation
policies, the path parameters, the `Allow` header and `openapi check`."""

from collections.abc import Iterator

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations_of(document: dict) -> Iterator[tuple[str, str, dict]]:
    """(path, method, operation) of every operation, in the spec's order."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation
