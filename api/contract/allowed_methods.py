"""The `Allow` header of a 405, from the spec's paths: what Connexion's routing
knows but does not say (api/contract/problems.py writes the header)."""

import re

from api.contract.spec_walk import HTTP_METHODS, Operations
from openapi import BASE_PATH


def allowed_methods_in(operations: Operations):
    """A function from a request path to the methods the spec has for it."""
    by_template: dict[str, list[str]] = {}
    for template, method, _operation in operations:
        by_template.setdefault(template, []).append(method.upper())
    routes = []
    for template, methods in by_template.items():
        methods.sort(key=lambda method: HTTP_METHODS.index(method.lower()))
        pattern = re.sub(r"\{[^/}]+\}", "[^/]+", template)  # templates hold no other regex
        routes.append((re.compile(f"^{re.escape(BASE_PATH)}{pattern}/?$"), methods))

    def allowed_methods(path: str) -> list[str]:
        for pattern, methods in routes:
            if pattern.match(path):
                return methods
        return []

    return allowed_methods
