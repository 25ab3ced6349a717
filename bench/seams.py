"""The seams kept for speed alone, each undone on request, so that
`make instructions` can count what each one buys (docs/development.md,
"Seams"). Undone, each part works as Connexion ships it; call `undo`
before the app is built.

    SEAMS_OFF=call_chain python -m bench.instructions get_item
    python -m bench.instructions --seams get_item put_item    # every seam, one by one
"""

class _Itself:
    """A context proxy whose `_get_current_object` is the proxy itself: every
    read of the scope goes through Connexion's context variable, as it does
    without the seam."""

    def __init__(self, proxy):
        self._proxy = proxy

    def _get_current_object(self):
        return self._proxy

    def __getattr__(self, name):
        return getattr(self._proxy, name)

    def __getitem__(self, key):
        return self._proxy[key]

    def __setitem__(self, key, value):
        self._proxy[key] = value

    def __contains__(self, key):
        return key in self._proxy

    def __call__(self, *args, **kwargs):
        return self._proxy(*args, **kwargs)


def _call_chain() -> None:
    # Connexion's AsyncOperation.fn: the decorator chain built on every call.
    from api.contract.call_chain import DecoratorOnce, OperationOnce

    OperationOnce.fn = property(lambda self: DecoratorOnce(
        pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn))


def _request_validation() -> None:
    from connexion.middleware.request_validation import RequestValidationMiddleware

    import api.app

    api.app.RequestValidationMiddlewareOnce = RequestValidationMiddleware


def _swagger_ui() -> None:
    from connexion.middleware.swagger_ui import SwaggerUIMiddleware

    import api.app

    api.app.SwaggerUIOnItsPaths = SwaggerUIMiddleware


def _path_parameters() -> None:
    import api.app

    api.app.path_parameters_in_operations = lambda document, operations: document


def _signature_once() -> None:
    from connexion.security import AbstractSecurityHandler

    from api.identity.security import _SignatureOnce

    _SignatureOnce._accepts_kwarg = staticmethod(AbstractSecurityHandler._accepts_kwarg)


def _current_object() -> None:
    import api.contract.call_chain
    import api.runtime.request_context

    for module in (api.contract.call_chain, api.runtime.request_context):
        module.scope = _Itself(module.scope)
    api.contract.call_chain.receive = _Itself(api.contract.call_chain.receive)


SEAMS = {
    "call_chain": _call_chain,
    "request_validation": _request_validation,
    "swagger_ui": _swagger_ui,
    "path_parameters": _path_parameters,
    "signature_once": _signature_once,
    "current_object": _current_object,
}


def undo(names) -> None:
    for name in names:
        SEAMS[name]()
