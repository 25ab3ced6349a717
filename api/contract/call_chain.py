"""Each operation's call chain, built once per operation instead of once
per request.

For every request, Connexion's AsyncOperation builds a new decorator, a new
URI parser from the operation's parameters, and the handler's decorator
chain, inspecting the handler's signature (part of what connexion issues
2045 and 2077 measure). None of it depends on the request: the request, the
operation and its body come from Connexion's context at call time. Here the
chain and the parser are built on the first call and kept.

The chain's hop to a worker thread goes through the lifespan's handler
threads (api/runtime/handler_threads.py) instead of Starlette's `run_in_threadpool`.

Connexion's parameter decorator also asks every request for its files, and
Starlette builds an empty form to answer a request that carries none:
`RequestOnce` answers without it where the media type cannot hold a form.
It also takes the query and path parameters as request validation resolved
them, and the JSON body as validation parsed it (numbers as Decimals),
instead of parsing and resolving them a second time.

This replaces `AsyncOperation.fn`, a property of Connexion's, and the
wrapper and the sync-to-async decorator of `ASGIDecorator`; it is installed
through the middleware app's `api_cls`. pyproject.toml pins Connexion to
3.3, and tests/test_connexion_seams.py fails if an upgrade changes what it
relies on.
"""

import functools
import inspect
from decimal import Decimal

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.lifecycle import ConnexionRequest

from api.contract.validation import VALIDATED_BODY, VALIDATED_PARAMETERS
from api.runtime.request_context import handler_threads_of

# The media types Starlette parses as a form; any other body has no files.
FORM_MEDIA_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


class RequestOnce(ConnexionRequest):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The query and path parameters as request validation resolved them,
        # with a parser built from the same operation's parameters.
        # None where validation had no need of them: resolved here, as before.
        self._query_params, self._path_params = self.scope.get(VALIDATED_PARAMETERS,
                                                               (None, None))

    async def json(self):
        # The body request validation parsed and checked, numbers as Decimals:
        # parsed once, never again through floats.
        if VALIDATED_BODY in self.scope:
            return self.scope[VALIDATED_BODY]
        return await super().json()

    async def files(self):
        # Starlette's own test, on the same parse of the same header
        # (python-multipart's parse_options_header, lower-cased).
        if self._files is None and self.mimetype not in FORM_MEDIA_TYPES:
            return {}
        return await super().files()


class ParametersAsValidated(AsyncParameterDecorator):
    """Connexion's parameter decorator, but a query's numbers as validation parsed them."""

    def __call__(self, function):
        # Connexion casts a `number` query parameter to a float for the
        # handler; validation left it as the Decimal its text says
        # (api/contract/validation.py), and that is what the handler gets.
        @functools.wraps(function)
        async def numbers_as_written(**kwargs):
            query = scope.get(VALIDATED_PARAMETERS, (None, None))[0]
            for name, value in (query or {}).items():
                if isinstance(value, Decimal) and self.sanitize_fn(name) in kwargs:
                    kwargs[self.sanitize_fn(name)] = value
            return await function(**kwargs)

        return super().__call__(numbers_as_written)


class DecoratorOnce(StarletteDecorator):
    _parameter_decorator_cls = ParametersAsValidated

    @property
    def _sync_async_decorator(self):
        def decorator(function):
            if inspect.iscoroutinefunction(function):
                return function

            @functools.wraps(function)
            async def wrapper(*args, **kwargs):
                # The lifespan's threads (api/runtime/handler_threads.py), not anyio's.
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
