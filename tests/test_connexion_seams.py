"""What our overrides of Connexion rely on, checked so that an upgrade that
changes it fails here, loudly, instead of quietly skipping a check.

api/contract/validation.py and api/identity/security.py subclass Connexion's validators and
security handlers and replace some of their private methods; pyproject.toml
pins Connexion to the minor version they were written against.
"""

import inspect

import connexion
import pytest
from connexion.security import AbstractSecurityHandler
from connexion.validators import (
    VALIDATOR_MAP,
    AbstractRequestBodyValidator,
    FormDataValidator,
    JSONRequestBodyValidator,
    ParameterValidator,
)
from connexion.validators.json import JSONResponseBodyValidator

from api.contract.validation import FormBodyValidator, JSONBodyValidator, StrictParameterValidator


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_connexion_is_the_minor_version_the_overrides_were_written_for():
    from importlib.metadata import version

    assert version("connexion").startswith("3.3."), connexion.__file__


def test_body_validators_still_read_and_replay_the_body_the_same_way():
    # Replaced: wrap_receive (it ignored chunked bodies, connexion issue 2020).
    assert parameters(AbstractRequestBodyValidator.wrap_receive) == ["self", "receive", "scope"]
    # Used: _insert_messages replays what we read; _parse and _validate are the
    # steps we fill in.
    assert parameters(AbstractRequestBodyValidator._insert_messages) == ["receive", "messages"]
    assert parameters(JSONRequestBodyValidator._parse) == ["self", "stream", "scope"]
    assert parameters(FormDataValidator._parse) == ["self", "stream", "scope"]
    assert parameters(FormDataValidator._validate_params_strictly) == ["self", "data"]
    for ours in (JSONBodyValidator, FormBodyValidator):
        assert ours.wrap_receive is not AbstractRequestBodyValidator.wrap_receive


def test_the_validator_map_has_the_keys_we_replace():
    assert {"parameter", "body", "response"} <= set(VALIDATOR_MAP)
    assert "*/*json" in VALIDATOR_MAP["body"] and "*/*json" in VALIDATOR_MAP["response"]
    assert "application/x-www-form-urlencoded" in VALIDATOR_MAP["body"]
    assert "validator" in vars(JSONResponseBodyValidator)


def test_parameter_validation_still_goes_through_the_methods_we_override():
    assert parameters(ParameterValidator.validate_request) == ["self", "request"]
    assert parameters(ParameterValidator.validate_query_parameter_list) == [
        "self", "request", "security_params"]
    assert parameters(ParameterValidator.validate_parameter) == [
        "parameter_type", "value", "param", "param_name"]
    assert StrictParameterValidator.validate_request is not ParameterValidator.validate_request


def test_security_handlers_still_ask_accepts_kwarg():
    # api/identity/security.py caches it: Connexion inspects a signature per request.
    assert parameters(AbstractSecurityHandler._accepts_kwarg) == ["func", "keyword"]
    source = inspect.getsource(AbstractSecurityHandler)
    assert "self._accepts_kwarg(" in source


def test_operations_still_build_their_call_chain_where_api_operations_builds_it_once():
    from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
    from connexion.decorators import StarletteDecorator
    from connexion.decorators.main import BaseDecorator

    assert isinstance(vars(AsyncOperation)["fn"], property)
    assert parameters(AsyncOperation.__init__) == [
        "self", "fn", "jsonifier", "operation_id", "pythonic_params"]
    assert AsyncASGIApp.api_cls is AsyncApi
    assert "make_operation" in vars(AsyncApi)
    assert isinstance(vars(BaseDecorator)["uri_parser"], property)
    assert parameters(BaseDecorator.decorate) == ["self", "function"]
    # What our wrapper does instead, per request: the request from the context.
    source = inspect.getsource(StarletteDecorator.__mro__[1].__call__)
    assert "self.framework.get_request(" in source and "self.decorate(function)" in source


def test_the_app_still_builds_its_apis_from_the_middleware_apps_api_cls(app, client):
    from connexion import AsyncApp
    from connexion.apps.asynchronous import AsyncASGIApp

    from api.contract.call_chain import ApiOnce, OperationOnce

    assert isinstance(AsyncApp(__name__)._middleware_app, AsyncASGIApp)
    assert app._middleware_app.api_cls is ApiOnce
    # Once the app serves, its API and every operation's chain are ours.
    assert client.get("/api/v1/health").status_code == 200
    apis = [api for by_path in app._middleware_app.apis.values() for api in by_path]
    assert apis and all(isinstance(api, ApiOnce) for api in apis)
    operations = [op for api in apis for op in api.operations.values()]
    assert operations and all(isinstance(op, OperationOnce) for op in operations)


def test_a_handlers_signature_is_inspected_once_however_many_requests(client, monkeypatch):
    from connexion.decorators import parameter

    inspected = []
    original = parameter.inspect_function_arguments
    monkeypatch.setattr(parameter, "inspect_function_arguments",
                        lambda function: inspected.append(function) or original(function))
    for _ in range(3):
        assert client.get("/api/v1/health").status_code == 200
    assert len(inspected) <= 1  # none when an earlier test already called it


def test_request_validation_still_takes_the_steps_request_validation_once_takes():
    from connexion.middleware.main import ConnexionMiddleware
    from connexion.middleware.request_validation import (
        RequestValidationAPI,
        RequestValidationMiddleware,
        RequestValidationOperation,
    )

    # api/contract/request_validation.py repeats these steps with what it built once; a step
    # added by an upgrade must be added there too.
    source = inspect.getsource(RequestValidationOperation.__call__)
    for step in ("parameter_validator.validate(scope)", "self.extract_content_type(headers)",
                 "self.validate_mime_type(mime_type)", "self._operation.body_schema(mime_type)",
                 "await validator.wrap_receive(receive, scope=scope)",
                 "await self.next_app(scope, receive, send)"):
        assert step in source, step
    assert source.count("validator") == 11  # no other validator than these
    assert parameters(RequestValidationOperation.__init__) == [
        "self", "next_app", "operation", "strict_validation", "validator_map"]
    assert RequestValidationMiddleware in ConnexionMiddleware.default_middlewares
    assert "make_operation" in vars(RequestValidationAPI)


def test_connexion_still_adds_path_parameters_to_the_specs_own_list():
    # Why api.contract.path_parameters folds them into each operation first. Once this
    # fails, the fold is no longer needed for speed (it stays correct).
    from connexion.operations import OpenAPIOperation

    assert "self._parameters += path_parameters" in inspect.getsource(OpenAPIOperation.__init__)


def test_the_swagger_ui_layer_still_mounts_one_router_per_api():
    from connexion.middleware.swagger_ui import SwaggerUIMiddleware

    # api.contract.swagger_ui.SwaggerUIOnItsPaths reads the mount add_api adds last.
    assert inspect.getsource(SwaggerUIMiddleware.add_api).rstrip().endswith(
        "self.router.mount(api.base_path, app=api.router)")
    assert "await self.router(scope, receive, send)" in inspect.getsource(
        SwaggerUIMiddleware.__call__)


def test_the_middleware_stack_is_still_built_from_its_list_of_classes():
    from connexion.middleware.main import ConnexionMiddleware

    # api/app.py swaps two of Connexion's classes in that list for ours.
    assert "for middleware in reversed(self.middlewares):" in inspect.getsource(
        ConnexionMiddleware._build_middleware_stack)


def test_the_call_chain_still_hops_to_a_thread_in_its_sync_async_decorator():
    from connexion.decorators.main import ASGIDecorator, BaseDecorator

    # api/contract/call_chain.py's DecoratorOnce replaces this property, which
    # `decorate` applies first, innermost, around the handler.
    assert isinstance(vars(ASGIDecorator)["_sync_async_decorator"], property)
    assert "run_in_threadpool(function" in inspect.getsource(ASGIDecorator)
    decorate = inspect.getsource(BaseDecorator.decorate)
    assert "function = self._sync_async_decorator(function)" in decorate


def test_files_are_still_asked_of_the_request_and_only_forms_hold_them():
    from connexion.decorators.parameter import AsyncParameterDecorator
    from connexion.lifecycle import ConnexionRequest
    from starlette.requests import Request

    from api.contract.call_chain import FORM_MEDIA_TYPES

    # api/contract/call_chain.py's RequestOnce answers `files()` without a form where
    # Starlette would build an empty one: these are the tests it repeats.
    assert "files=await request.files()" in inspect.getsource(AsyncParameterDecorator)
    assert "self._files = None" in inspect.getsource(ConnexionRequest.__init__)
    assert "parse_options_header(self.content_type)" in inspect.getsource(ConnexionRequest)
    get_form = inspect.getsource(Request._get_form)
    assert "parse_options_header(content_type_header)" in get_form
    assert get_form.count('content_type == b"') == len(FORM_MEDIA_TYPES)
    for media_type in FORM_MEDIA_TYPES:
        assert f'content_type == b"{media_type}"' in get_form
    assert "self._form = FormData()" in get_form


def test_the_parameter_decorator_still_names_parameters_through_sanitize_fn():
    from connexion.decorators.parameter import AsyncParameterDecorator, BaseParameterDecorator

    from api.contract.call_chain import ParametersAsValidated  # noqa: F401 (what relies on it)

    # ParametersAsValidated names the query's numbers through the function chosen in __init__.
    assert "self.sanitize_fn = " in inspect.getsource(BaseParameterDecorator.__init__)
    assert "sanitize=self.sanitize_fn" in inspect.getsource(AsyncParameterDecorator)


def test_parameters_are_still_resolved_where_request_once_takes_them_over():
    from connexion.lifecycle import ConnexionRequest

    # Request validation resolves them on its request object, which
    # StrictParameterValidator.validate_request receives; RequestOnce takes
    # them from the attributes ConnexionRequest caches them in.
    validate = inspect.getsource(ParameterValidator.validate)
    assert "ConnexionRequest(scope, uri_parser=self.uri_parser)" in validate
    assert "self.validate_request(request)" in validate
    for name, resolve in (("query_params", "resolve_query"), ("path_params", "resolve_path")):
        source = inspect.getsource(getattr(ConnexionRequest, name).fget)
        assert f"if self._{name} is None:" in source
        assert f"self.uri_parser.{resolve}(" in source


def test_a_framework_response_still_passes_the_response_decorator_unchanged():
    # api/contract/resolver.py hands Connexion a finished Starlette response.
    import asyncio

    from connexion.decorators.response import AsyncResponseDecorator
    from connexion.frameworks.starlette import Starlette
    from starlette.responses import Response

    sent = Response(b"{}", media_type="application/json")

    async def handler():
        return sent

    decorated = AsyncResponseDecorator(framework=Starlette, jsonifier=None)(handler)
    assert asyncio.run(decorated()) is sent


@pytest.mark.parametrize("headers", [
    [],
    [(b"content-type", b"application/json")],
    [(b"Content-Type", b"application/json; charset=utf-8")],
    [(b"content-type", b"text/plain;charset=")],
    [(b"accept", b"*/*"), (b"content-type", b"application/x-www-form-urlencoded; a=b;charset=x")],
])
@pytest.mark.parametrize("consumes", [["application/json"], []])
def test_request_validation_once_reads_the_media_type_as_connexion_does(headers, consumes):
    from types import SimpleNamespace

    from connexion.middleware.request_validation import RequestValidationOperation

    from api.contract.request_validation import RequestValidationOnce

    theirs, ours = (object.__new__(cls) for cls in (RequestValidationOperation,
                                                      RequestValidationOnce))
    theirs._operation = ours._operation = SimpleNamespace(consumes=consumes)
    assert ours.extract_content_type(headers) == theirs.extract_content_type(headers)


def test_uvicorns_httptools_protocol_still_has_what_the_bounded_head_overrides():
    # api/serving/bounded_head.py counts a head's bytes in data_received and
    # ends the count in the parser's callbacks; it reads `cycle`, `transport`
    # and `loop`, which connection_made and on_headers_complete set.
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from api.serving.bounded_head import BoundedHeadProtocol

    for name in ("connection_made", "connection_lost", "data_received", "on_headers_complete",
                 "on_message_complete"):
        assert parameters(getattr(HttpToolsProtocol, name)) == \
            parameters(getattr(BoundedHeadProtocol, name)), name
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.cycle", "self.transport", "self.loop", "self.parser.feed_data"):
        assert attribute in source, attribute


def test_the_security_layer_still_leaves_the_user_and_token_info_in_the_scope():
    # api/policies/store_roles.py's Caller reads them there.
    source = inspect.getsource(connexion.security.SecurityHandlerFactory.verify_security)
    assert '"user": token_info.get("sub"' in source and '"token_info": token_info' in source


def test_the_uvicorn_worker_still_serves_as_our_worker_does_but_for_the_server():
    """api/server.py's Worker._serve is uvicorn-worker's, with DrainingServer."""
    from uvicorn_worker import UvicornWorker

    from api.server import Worker

    def body(method, replace=("", "")) -> list[str]:
        lines = inspect.getsource(method).replace(*replace).splitlines()
        return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]

    ours = body(Worker._serve, ("DrainingServer(config=self.config, "
                                "shutdown_delay=self.shutdown_delay)", "Server(config=self.config)"))
    assert ours == body(UvicornWorker._serve)


def test_uvicorns_server_still_exits_when_handle_exit_sets_should_exit():
    """DrainingServer delays uvicorn's own handle_exit; its main loop polls should_exit."""
    from uvicorn import Server

    assert "self.should_exit = True" in inspect.getsource(Server.handle_exit)
    assert "self.should_exit" in inspect.getsource(Server.on_tick)


def test_connexion_routing_still_names_the_operation_in_a_copy_of_the_scope():
    """The access log makes scope['extensions'] before routing so that the copy
    shares it (api/policies/access_log.py); tests/production/test_metrics_workers.py
    fails under uvicorn, which sends no extensions, if this stops working."""
    from connexion.middleware.routing import RoutingMiddleware, RoutingOperation

    assert "_scope.set(scope.copy())" in inspect.getsource(RoutingMiddleware.__call__)
    assert 'setdefault("extensions", {})' in inspect.getsource(RoutingOperation.__call__)
