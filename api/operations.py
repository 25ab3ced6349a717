"""Connexion's per-operation call chain, built once per operation instead of
once per request.

For every request, Connexion's AsyncOperation builds a new decorator, a new
URI parser from the operation's parameters, and the handler's decorator
chain, inspecting the handler's signature (part of what connexion issues
2045 and 2077 measure). None of it depends on the request: the request, the
operation and its body come from Connexion's context at call time. Here the
chain and the parser are built on the first call and kept.

This replaces `AsyncOperation.fn`, a property of Connexion's, and the
wrapper of `ASGIDecorator.__call__`; it is installed through the
middleware app's `api_cls`. pyproject.toml pins Connexion to 3.3, and
tests/test_connexion_seams.py fails if an upgrade changes what it relies on.
"""

import functools

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator


class DecoratorOnce(StarletteDecorator):
    def __call__(self, function):
        decorated = self.decorate(function)
        uri_parser = None

        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            nonlocal uri_parser
            if uri_parser is None:  # the operation is known once a request is routed
                uri_parser = self.uri_parser
            request = self.framework.get_request(uri_parser=uri_parser, scope=scope,
                                                 receive=receive)
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
