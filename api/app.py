"""The application factory: the spec, served and enforced by Connexion."""

import functools
from pathlib import Path

from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from starlette.responses import Response

from api.contract import json_out
from api.contract.allowed_methods import allowed_methods_in
from api.contract.call_chain import ApiOnce
from api.contract.declared_statuses import DeclaredStatuses
from api.contract.path_parameters import path_parameters_in_operations
from api.contract.problems import register_error_handlers
from api.contract.reference_docs import PAGES as DOCS_PAGES
from api.contract.reference_docs import ReferenceDocs
from api.contract.request_validation import RequestValidationMiddlewareOnce
from api.contract.resolver import SessionJSONResolver, handler_name
from api.contract.spec_document import SpecDocument
from api.contract.spec_policy import OperationPolicy, operation_policies
from api.contract.spec_walk import operations_of
from api.contract.swagger_ui import SwaggerUIOnItsPaths
from api.contract.validation import validator_map
from api.identity.security import security_map
from api.policies.access_log import AccessLogMiddleware
from api.policies.authentication_failures import AuthenticationFailureLimit
from api.policies.cors import CrossOriginMiddleware, cors_options
from api.policies.deprecation import DeprecationMiddleware
from api.policies.idempotency import IdempotencyMiddleware, record_creations
from api.policies.rate_limits import RateLimitHeaders, RateLimitMiddleware
from api.policies.request_guard import RequestGuard
from api.policies.response_headers import ResponseHeaders
from api.policies.store_roles import store_role_required
from api.process.lifespan import lifespan_of
from api.process.metrics import publish_build_info
from api.process.probes import OperatorEndpoints
from api.process.services import Services
from api.process.startup import settings_for_serving
from api.process.tracing import start_tracing
from api.runtime.config import Settings
from openapi import BASE_PATH, SPEC_PATH, load_spec


class StoresApp(AsyncApp):
    """Connexion's own ASGI app: handlers are plain functions that Connexion runs
    in a worker thread, with no WSGI framework and no second thread pool behind
    the middleware. `services` is what the app holds for its lifetime."""

    def __init__(self, services: Services, policies: dict[str, OperationPolicy],
                 on_shutdown=None, **kwargs):
        super().__init__(__name__, lifespan=lifespan_of(services, policies, on_shutdown), **kwargs)
        # Connexion builds each operation's call chain per request; ApiOnce
        # builds it once (api/contract/call_chain.py). `api_cls` is private:
        # tests/test_connexion_seams.py fails if an upgrade moves it.
        self._middleware_app.api_cls = ApiOnce
        self.services = services


def create_app(settings: Settings | None = None, spec_path: Path = SPEC_PATH) -> StoresApp:
    """The app, from `settings` as its caller read them (the command line, a
    test), or as api/process/startup.py reads them when none are given; it
    serves the spec at `spec_path` (another only in tests)."""
    settings = settings or settings_for_serving()
    services = Services.build(settings)
    record_creations(services.database)  # a keyed create and its key, in one transaction
    # Loaded and walked once: every reader below reads these two.
    document = load_spec(spec_path)
    operations = list(operations_of(document))
    policies = operation_policies(document, key=_routed_name, operations=operations)
    # Traces when an OTLP collector is set (api/process/tracing.py): set up
    # here, so in each worker after gunicorn's fork.
    tracing = (start_tracing(settings, services.database, policies)
               if settings.otel_exporter_otlp_endpoint else None)
    app = StoresApp(services, policies, specification_dir=spec_path.parent,
                    on_shutdown=tracing.shutdown if tracing else None)
    _serve_the_spec(app, path_parameters_in_operations(document, operations), policies, settings)
    _add_operator_layers(app, settings, policies, tracing)
    if settings.metrics_enabled:
        publish_build_info(document["info"]["version"])
    _add_policy_layers(app, settings, policies)
    if settings.validate_responses:  # and every status answered is declared
        app.add_middleware(DeclaredStatuses, MiddlewarePosition.BEFORE_EXCEPTION, declared={
            _routed_name(op): frozenset(op["responses"]) for _path, _method, op in operations})
    register_error_handlers(app, allowed_methods_in(operations))
    # Two of Connexion's layers with less work per request
    # (api/contract/request_validation.py, api/contract/swagger_ui.py).
    # Swapped last: the middleware positions above name Connexion's classes.
    cheaper = {RequestValidationMiddleware: RequestValidationMiddlewareOnce,
               SwaggerUIMiddleware: SwaggerUIOnItsPaths}
    app.middleware.middlewares[:] = [cheaper.get(layer, layer)
                                     for layer in app.middleware.middlewares]
    _add_documents(app, document)
    return app


def _serve_the_spec(app: StoresApp, document: dict, policies: dict[str, OperationPolicy],
                    settings: Settings) -> None:
    """Connexion routes, validates and secures the spec's operations."""
    app.add_api(
        document,
        resolver=SessionJSONResolver({
            operation_id: functools.partial(store_role_required, policy=policy)
            for operation_id, policy in policies.items() if policy.store_role}),
        # Compact JSON, written by orjson.
        jsonifier=Jsonifier(json_out),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=validator_map(),
        security_map=security_map(),
        swagger_ui_options=SwaggerUIOptions(
            # Ours, as written (api/contract/spec_document.py), at the same two URLs.
            serve_spec=False,
            swagger_ui_config={"persistAuthorization": True, "tryItOutEnabled": True},
        ),
    )


def _add_operator_layers(app: StoresApp, settings: Settings,
                         policies: dict[str, OperationPolicy], tracing) -> None:
    """Outermost, in this order: probes and scrapes are answered before
    anything would log, count or limit them; then every other request is
    logged and counted, whatever answers it."""
    app.add_middleware(OperatorEndpoints, MiddlewarePosition.BEFORE_EXCEPTION,
                       database_url=settings.database_url, metrics=settings.metrics_enabled,
                       metrics_allowed=settings.metrics_allowed_ips)
    if tracing:
        # Outside the access log, whose line carries the span's trace id.
        app.add_middleware(tracing.middleware, MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(AccessLogMiddleware, MiddlewarePosition.BEFORE_EXCEPTION,
                       policies=policies, metrics=settings.metrics_enabled)
    app.add_middleware(ResponseHeaders, MiddlewarePosition.BEFORE_EXCEPTION,
                       docs_prefixes=(f"{BASE_PATH}/ui",
                                      *(f"{BASE_PATH}/{docs.path}" for docs in DOCS_PAGES)))
    if settings.cors_origins:
        # Outermost but for the error middleware, as Connexion's docs place it:
        # a preflight is answered before routing could call OPTIONS a 405.
        app.add_middleware(CrossOriginMiddleware, MiddlewarePosition.BEFORE_EXCEPTION,
                           **cors_options(settings.cors_origins))


def _add_policy_layers(app: StoresApp, settings: Settings,
                       policies: dict[str, OperationPolicy]) -> None:
    """The spec's runtime policies, each where it needs to be: deprecation and
    the limit on failed authentication once the operation is known, rate
    limits once the token's user is, and idempotency keys for requests that
    passed validation; the request guard inside the exception layer, whose
    refusals become problems like any other."""
    app.add_middleware(DeprecationMiddleware, MiddlewarePosition.BEFORE_SECURITY,
                       policies=policies, base_path=BASE_PATH)
    app.add_middleware(AuthenticationFailureLimit, MiddlewarePosition.BEFORE_SECURITY,
                       policies=policies)
    app.add_middleware(RateLimitMiddleware, MiddlewarePosition.BEFORE_VALIDATION,
                       policies=policies)
    # Outside the exception layer, so that problems carry them too.
    app.add_middleware(RateLimitHeaders, MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(IdempotencyMiddleware, MiddlewarePosition.BEFORE_CONTEXT,
                       policies={op: p for op, p in policies.items() if p.idempotent_creates})
    app.add_middleware(RequestGuard, MiddlewarePosition.BEFORE_SWAGGER,
                       max_body_bytes=settings.max_body_bytes, public_url=settings.public_url)


def _add_documents(app: StoresApp, document: dict) -> None:
    """The docs and the spec as written, beside the API."""
    app.add_url_rule("/", "index", redirect_to_docs, methods=["GET"])
    spec = SpecDocument(document)
    app.add_url_rule(f"{BASE_PATH}/openapi.json", "spec_json", spec.as_json, methods=["GET"])
    app.add_url_rule(f"{BASE_PATH}/openapi.yaml", "spec_yaml", spec.as_yaml, methods=["GET"])
    for docs in DOCS_PAGES:  # ReDoc and RapiDoc, beside Swagger UI
        served = ReferenceDocs(docs)
        app.add_url_rule(f"{BASE_PATH}/{docs.path}", docs.folder, served.page, methods=["GET"])
        app.add_url_rule(f"{BASE_PATH}/{docs.path}/{docs.bundle}", f"{docs.folder}_js",
                         served.script, methods=["GET"])


def _routed_name(operation: dict) -> str:
    """The name Connexion's routing gives a request's operation: its handler's."""
    return handler_name(operation.get("x-openapi-router-controller", ""),
                        operation["operationId"])


def redirect_to_docs(_request):
    # No HTML body: every answer of this service is JSON or the docs themselves.
    return Response(status_code=302, headers={"Location": f"{BASE_PATH}/ui/"})
