"""Connexion's per-operation work, done once per operation instead of once
per request.

The call chain
--------------

For every request, Connexion's AsyncOperation builds a new decorator, a new
URI parser from the operation's parameters, and the handler's decorator
chain, inspecting the handler's signature (part of what connexion issues
2045 and 2077 measure). None of it depends on the request: the request, the
operation and its body come from Connexion's context at call time. Here the
chain and the parser are built on the first call and kept.

The chain's hop to a worker thread goes through the lifespan's handler
threads (api/handler_threads.py) instead of Starlette's `run_in_threadpool`.

Connexion's parameter decorator also asks every request for its files, and
Starlette builds an empty form to answer a request that carries none:
`RequestOnce` answers without it where the media type cannot hold a form.
It also takes the query and path parameters as request validation resolved
them, instead of parsing and resolving them a second time.
The decorator turns the spec's names into Python ones with three regular
expressions per name per request: `ParametersOnce` remembers the answers.

This replaces `AsyncOperation.fn`, a property of Connexion's, and the
wrapper and the sync-to-async decorator of `ASGIDecorator`; it is installed
through the middleware app's `api_cls`. pyproject.toml pins Connexion to
3.3, and tests/test_connexion_seams.py fails if an upgrade changes what it
relies on.

Request validation
------------------
For every request, Connexion's RequestValidationOperation builds a URI
parser, a parameter validator and, for a body, a body validator and a second
URI parser, from the operation alone. `RequestValidationOnce` builds them on
the first request and keeps them; what they check is unchanged. It also reads
the request's media type without the typing aliases Connexion's helper
builds on every call.

The Swagger UI's router
-----------------------
Connexion hands every request to the Swagger UI's router, a Starlette router
with a mount per API, to find that nearly none is for it.
`SwaggerUIOnItsPaths` asks that router only about paths that can lead to
the UI.

Path-level parameters
---------------------
Connexion adds a path's shared parameters to the operation's own list in
place, once for each of its layers that builds the operation: `getItem`'s
`item_id` was validated six times per request. `path_parameters_in_operations`
folds them into each operation before Connexion reads the spec, with
OpenAPI's rule that an operation's parameter of the same name and location
wins.
"""

import copy
import functools
import inspect

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.utils import is_nullable, split_content_type

from api.request_context import handler_threads_of
from api.validation import VALIDATED_PARAMETERS

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# The media types Starlette parses as a form; any other body has no files.
FORM_MEDIA_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
# Names the parameter decorator remembers the Python form of: the spec's own,
# and a bound on what else a caller could make it meet.
NAMES_KEPT = 1024
# Body validators kept per operation, by media type and charset: the caller
# writes both, so past this many the rest are built per request, as before.
BODY_VALIDATORS_KEPT = 8


class RequestOnce(ConnexionRequest):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The query and path parameters as request validation resolved them,
        # with a parser built from the same operation's parameters.
        # None where validation had no need of them: resolved here, as before.
        self._query_params, self._path_params = self.scope.get(VALIDATED_PARAMETERS,
                                                               (None, None))

    async def files(self):
        # Starlette's own test, on the same parse of the same header
        # (python-multipart's parse_options_header, lower-cased).
        if self._files is None and self.mimetype not in FORM_MEDIA_TYPES:
            return {}
        return await super().files()


class ParametersOnce(AsyncParameterDecorator):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sanitize_fn = functools.lru_cache(maxsize=NAMES_KEPT)(self.sanitize_fn)


class DecoratorOnce(StarletteDecorator):
    _parameter_decorator_cls = ParametersOnce

    @property
    def _sync_async_decorator(self):
        def decorator(function):
            if inspect.iscoroutinefunction(function):
                return function

            @functools.wraps(function)
            async def wrapper(*args, **kwargs):
                # The lifespan's threads (api/handler_threads.py), not anyio's.
                return await handler_threads_of(scope).run(function, *args, **kwargs)

            return wrapper

        return decorator

    def __call__(self, function):
        decorated = self.decorate(function)
        uri_parser = None

        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            nonlocal uri_parser
            if uri_parser is None:  # the operation is known once a request is routed
                uri_parser = self.uri_parser
            # The request's own scope and receive, not Connexion's proxies to
            # them: the request reads its scope a dozen times.
            request = RequestOnce(scope._get_current_object(), receive._get_current_object(),
                                  uri_parser=uri_parser)
            return await decorated(request)

        return wrapper


class OperationOnce(AsyncOperation):
    @functools.cached_property
    def fn(self):
        return DecoratorOnce(pythonic_params=self.pythonic_params,
                             jsonifier=self.jsonifier)(self._fn)


class ApiOnce(AsyncApi):
    def make_operation(self, operation) -> OperationOnce:
        return OperationOnce.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)


class RequestValidationOnce(RequestValidationOperation):
    @functools.cached_property
    def _uri_parser(self):
        operation = self._operation
        return operation._uri_parser_class(operation.parameters, operation.body_definition())

    @functools.cached_property
    def _parameter_validator(self):
        return self._validator_map["parameter"](
            self._operation.parameters,
            uri_parser=self._uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )

    @functools.cached_property
    def _body_validators(self) -> dict:
        return {}

    def _body_validator(self, mime_type: str, encoding: str):
        """Connexion's body validator for this media type, or None where the
        operation takes no body of it (as Connexion, which skips those)."""
        key = mime_type, encoding
        if key in self._body_validators:
            return self._body_validators[key]
        validator = body_validator = None
        schema = self._operation.body_schema(mime_type)
        if schema:
            try:
                # Indexing, not .get: the map matches media ranges (`*/*json`).
                body_validator = self._validator_map["body"][mime_type]
            except KeyError:
                pass
        if body_validator is not None:
            validator = body_validator(
                schema=schema,
                required=self._operation.request_body.get("required", False),
                nullable=is_nullable(self._operation.body_definition(mime_type)),
                encoding=encoding,
                strict_validation=self.strict_validation,
                uri_parser=self._uri_parser,
            )
        if len(self._body_validators) < BODY_VALIDATORS_KEPT:
            self._body_validators[key] = validator
        return validator

    def extract_content_type(self, headers) -> tuple[str, str]:
        """Connexion's, on the ASGI headers, without the typing aliases
        `connexion.utils.extract_content_type` builds on every call."""
        mime_type = encoding = None
        for name, value in headers:
            if name.lower() == b"content-type":
                mime_type, encoding = split_content_type(value.decode("latin-1"))
                break
        if mime_type is None:  # the header is optional: Connexion's best guess
            consumes = self._operation.consumes
            mime_type = consumes[0] if consumes else "application/octet-stream"
        return mime_type, "utf-8" if encoding is None else encoding

    async def __call__(self, scope, receive, send):
        # Connexion's steps, in its order: parameters, media type, body.
        self._parameter_validator.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        validator = self._body_validator(mime_type, encoding)
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class RequestValidationApiOnce(RequestValidationAPI):
    def make_operation(self, operation) -> RequestValidationOnce:
        return RequestValidationOnce(
            self.next_app, operation=operation, strict_validation=self.strict_validation,
            validator_map=self.validator_map)


class RequestValidationMiddlewareOnce(RequestValidationMiddleware):
    api_cls = RequestValidationApiOnce


def path_parameters_in_operations(spec: dict) -> dict:
    """A copy of `spec` where each path's shared parameters are listed in each
    of its operations instead, unless the operation has its own of that name
    and location."""
    spec = copy.deepcopy(spec)
    for item in spec.get("paths", {}).values():
        shared = item.pop("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            own = item[method].setdefault("parameters", [])
            named = {_name_and_location(spec, parameter) for parameter in own}
            own.extend(copy.deepcopy(parameter) for parameter in shared
                       if _name_and_location(spec, parameter) not in named)
    return spec


def _name_and_location(spec: dict, parameter: dict) -> tuple[str, str]:
    while "$ref" in parameter:  # local references only: the spec has no others
        node = spec
        for part in parameter["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        parameter = node
    return parameter["name"], parameter["in"]


class SwaggerUIOnItsPaths(SwaggerUIMiddleware):
    def __init__(self, app) -> None:
        super().__init__(app)
        self._ui_paths: list[str] = []
        self._base_paths: list[str] = []

    def add_api(self, *args, **kwargs) -> None:
        super().add_api(*args, **kwargs)
        mount = self.router.routes[-1]  # the API's, at its base path
        # The base path itself: Starlette redirects it to the base path and a slash.
        self._base_paths.append(mount.path)
        self._ui_paths = sorted({*self._ui_paths,
                                 *(mount.path + route.path.rstrip("/") for route in mount.routes)})

    async def __call__(self, scope, receive, send) -> None:
        # Substrings, not prefixes: behind a proxy's root path the path starts with it.
        path = scope.get("path", "")
        if scope["type"] == "http" and not any(ui in path for ui in self._ui_paths) \
                and not path.rstrip("/").endswith(tuple(self._base_paths)):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
