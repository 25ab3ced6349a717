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
database session, closed when the handler returns, and an operation that
declares `x-store-role` runs its handler only for a caller with that role
(api/policies/store_roles.py).

The handler's result leaves its worker thread as a finished Starlette
response: the body written by orjson straight to bytes, its content type
checked against the operation's, as Connexion's response decorator checks it,
with the operation's list read once instead of on every request. Connexion
passes a framework response through unchanged, so the event loop, which
every request shares, does none of that work.
"""

import functools
import inspect
import re
from collections.abc import Callable

from connexion.exceptions import NonConformingResponseHeaders
from connexion.resolver import Resolution, Resolver
from starlette.responses import Response

from api.contract.json_out import dumps_bytes
from api.runtime.request_context import with_session

JSON = "application/json"
CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def handler_name(controller: str, operation_id: str) -> str:
    """`api.items` and `createItem` -> `api.items.create_item`."""
    return f"{controller}.{CAMEL_HUMP.sub('_', operation_id).lower()}"


class SessionJSONResolver(Resolver):
    """Each handler, wrapped: its own database session, the guard its
    operation needs (`guards`, by handler name: the factory passes the
    store role checks of api/policies/store_roles.py, so that the contract
    imports no policy), and its result made a response of the media types
    its operation documents."""

    def __init__(self, guards: dict[str, Callable] | None = None):
        super().__init__()
        self.guards = guards or {}

    def resolve_operation_id(self, operation):
        return handler_name(operation.router_controller, operation.operation_id)

    def resolve(self, operation) -> Resolution:
        operation_id = self.resolve_operation_id(operation)
        handler = self.resolve_function_from_operation_id(operation_id)
        if operation_id in self.guards:
            handler = self.guards[operation_id](handler)
        return Resolution(responding(handler, operation), operation_id)


def responding(handler, operation):
    if inspect.iscoroutinefunction(handler):
        return _responding_on_the_loop(handler, operation)
    handler_with_session = with_session(handler)
    documented = None

    @functools.wraps(handler)  # Connexion passes the arguments the handler names
    def json_handler(*args, **kwargs):
        nonlocal documented
        if documented is None:  # Connexion reads the responses after resolving the operation
            documented = _documented(operation)
        return response(handler_with_session(*args, **kwargs), documented)

    return json_handler


def _responding_on_the_loop(handler, operation):
    """An `async` handler runs on the event loop and hands its database work
    to the handler threads itself, with sessions of its own (login, whose
    password hash must not hold a handler thread)."""

    @functools.wraps(handler)
    async def json_handler(*args, **kwargs):
        return response(await handler(*args, **kwargs), _documented(operation))

    return json_handler


def _documented(operation) -> frozenset[str]:
    # Connexion's rule: an operation that documents no media type sends JSON.
    return frozenset(operation.produces) or frozenset({JSON})


def response(result, documented: frozenset[str]) -> Response:
    body, status, headers = _body_status_headers(result)
    if body is None:
        return Response(status_code=status, headers=headers)
    content_type = next((value for name, value in headers.items()
                         if name.lower() == "content-type"), JSON)
    if content_type not in documented:
        raise NonConformingResponseHeaders(
            f"the handler's content type {content_type} is not one its operation documents")
    if content_type == JSON:
        body = dumps_bytes(body)
    return Response(body, status, headers, media_type=content_type)


def _body_status_headers(result) -> tuple:
    if not isinstance(result, tuple):
        return result, 200, {}
    if len(result) == 2:
        return result[0], result[1], {}
    return result
