"""Resolve operationIds to handlers, and say what their bodies are.

operationIds are public names, camelCase (`createItem`), and say nothing of
our modules: each operation names its module in `x-openapi-router-controller`
(`api.items`), and the function is the operationId in snake_case
(`api.items.create_item`).

Connexion cannot infer the content type of a handler's result when an operation
documents more than one (application/json for success, application/problem+json
for errors): connexion issue 1956. Where it can, a bodiless 204 or 304 gets the
only content type the operation documents. Handlers return plain data; this
resolver marks JSON bodies as JSON and sends bodiless answers without a content
type, in one place instead of in every handler. Each call also gets its own
database session, closed when the handler returns.
"""

import functools
import re

from connexion.resolver import Resolver
from starlette.responses import Response

from api.request_context import with_session

JSON = "application/json"
CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def handler_name(controller: str, operation_id: str) -> str:
    """`api.items` and `createItem` -> `api.items.create_item`."""
    return f"{controller}.{CAMEL_HUMP.sub('_', operation_id).lower()}"


class SessionJSONResolver(Resolver):
    """Each handler, wrapped: its own database session, and its body marked JSON."""

    def resolve_operation_id(self, operation):
        return handler_name(operation.router_controller, operation.operation_id)

    def resolve_function_from_operation_id(self, operation_id):
        handler = super().resolve_function_from_operation_id(operation_id)
        handler_with_session = with_session(handler)

        @functools.wraps(handler)
        def json_handler(*args, **kwargs):
            return with_json_content_type(handler_with_session(*args, **kwargs))

        return json_handler


def with_json_content_type(result):
    body, status, headers = _body_status_headers(result)
    if body is None:
        return Response(status_code=status, headers=headers)
    if not any(name.lower() == "content-type" for name in headers):
        headers = {**headers, "Content-Type": JSON}
    return body, status, headers


def _body_status_headers(result) -> tuple:
    if not isinstance(result, tuple):
        return result, 200, {}
    if len(result) == 2:
        return result[0], result[1], {}
    return result
