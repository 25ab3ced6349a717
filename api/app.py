"""The application factory: the spec, served and enforced by Connexion."""

import asyncio
import contextlib
import re
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from anyio import to_thread
from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from starlette.responses import Response

from api import json_out
from api.config import Settings
from api.cors import CrossOriginMiddleware, cors_options
from api.deprecation import DeprecationMiddleware
from api.errors import register_error_handlers
from api.handler_threads import HandlerThreads
from api.idempotency import IdempotencyMiddleware, record_creations
from api.identity.password_checks import PASSWORD_CHECK_NICENESS, PasswordChecks
from api.logs import AccessLogMiddleware, configure_logging, flush_access_log_every
from api.operations import (
    HTTP_METHODS,
    ApiOnce,
    RequestValidationMiddlewareOnce,
    SwaggerUIOnItsPaths,
    path_parameters_in_operations,
)
from api.policies.authentication_failures import AuthenticationFailureLimit
from api.pruning import prune_every
from api.rate_limits import RateLimiter, RateLimitMiddleware
from api.reference_docs import ReferenceDocs
from api.request_guard import RequestGuard
from api.resolver import SessionJSONResolver, handler_name
from api.response_headers import ResponseHeaders
from api.security import security_map
from api.services import Services
from api.spec_document import SpecDocument
from api.spec_policy import OperationPolicy, operation_policies
from api.token_view import keep_current
from api.validation import validator_map
from openapi import BASE_PATH, SPEC_PATH


class StoresApp(AsyncApp):
    """Connexion's own ASGI app: handlers are plain functions that Connexion runs
    in a worker thread, with no WSGI framework and no second thread pool behind
    the middleware. `services` is what the app holds for its lifetime."""

    def __init__(self, services: Services, policies: dict[str, OperationPolicy], **kwargs):
        super().__init__(__name__, lifespan=serving(services, policies), **kwargs)
        self._middleware_app.api_cls = ApiOnce  # api/operations.py
        self.services = services


def serving(services: Services, policies: dict[str, OperationPolicy]):
    """The app's lifespan: it starts the threads that do the worker's
    database work (api/handler_threads.py) and sizes anyio's default pool,
    where Connexion runs error handlers (40 threads unless told), alike;
    starts the rate limiter, the access log's writes (api/logs.py) and the
    pruning of expired rows in this event loop, and yields what Starlette
    then puts on every request's `scope["state"]` (api.request_context). On
    PostgreSQL it also keeps the token view current (api.token_view) and
    holds this process's claimant lock (api/policies/claimants.py)."""
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_app):
        to_thread.current_default_thread_limiter().total_tokens = settings.handler_threads
        handler_threads = HandlerThreads(settings.handler_threads)
        # Niced: when reads and password checks both want the CPU, reads win.
        password_checks = PasswordChecks(
            services.passwords,
            HandlerThreads(settings.password_hash_threads, niceness=PASSWORD_CHECK_NICENESS),
            settings.password_hash_waiting)
        limiter = RateLimiter(policies, settings.rate_limit_storage_url,
                              settings.rate_limit_scale, settings.rate_limit_key_prefix,
                              settings.rate_limit_ipv6_prefix)
        tasks = [asyncio.create_task(flush_access_log_every())]
        if settings.prune_interval_seconds:
            tasks.append(asyncio.create_task(
                prune_every(services.database, settings.prune_interval_seconds,
                            handler_threads)))
        if services.token_view is not None:
            tasks.append(asyncio.create_task(
                keep_current(services.token_view, settings.database_url)))
        if services.claimants.on_postgres:
            tasks.append(asyncio.create_task(
                services.claimants.hold_lock(settings.database_url)))
        try:
            yield {"services": services, "rate_limiter": limiter,
                   "handler_threads": handler_threads, "password_checks": password_checks}
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            handler_threads.shutdown()
            password_checks.shutdown()

    return lifespan


def create_app(settings: Settings | None = None) -> StoresApp:
    settings = settings or Settings.from_env()
    settings.check_secret_for_serving()
    configure_logging(settings.log_level, settings.access_log)
    services = Services.build(settings)
    record_creations(services.database)  # a keyed create and its key, in one transaction
    document = yaml.safe_load(SPEC_PATH.read_text())
    # By the name Connexion's routing gives each request's operation: its handler's.
    policies = operation_policies(document, key=lambda op: (
        handler_name(op.get("x-openapi-router-controller", ""), op["operationId"])))

    app = StoresApp(services, policies, specification_dir=SPEC_PATH.parent)
    app.add_api(
        path_parameters_in_operations(document),
        resolver=SessionJSONResolver({operation_id: policy.store_role
                                      for operation_id, policy in policies.items()
                                      if policy.store_role}),
        # Compact JSON, written by orjson.
        jsonifier=Jsonifier(json_out),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=validator_map(),
        security_map=security_map(),
        swagger_ui_options=SwaggerUIOptions(
            # Ours, as written (api/spec_document.py), at the same two URLs.
            serve_spec=False,
            swagger_ui_config={"persistAuthorization": True, "tryItOutEnabled": True},
        ),
    )
    app.add_middleware(AccessLogMiddleware, MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(ResponseHeaders, MiddlewarePosition.BEFORE_EXCEPTION,
                       docs_prefixes=(f"{BASE_PATH}/ui", f"{BASE_PATH}/docs"))
    if settings.cors_origins:
        # Outermost but for the error middleware, as Connexion's docs place it:
        # a preflight is answered before routing could call OPTIONS a 405.
        app.add_middleware(CrossOriginMiddleware, MiddlewarePosition.BEFORE_EXCEPTION,
                           **cors_options(settings.cors_origins))
    # The spec's runtime policies, each where it needs to be: deprecation and
    # the limit on failed authentication once the operation is known, rate
    # limits once the token's user is, and idempotency keys for requests
    # that passed validation.
    app.add_middleware(DeprecationMiddleware, MiddlewarePosition.BEFORE_SECURITY,
                       policies=policies, base_path=BASE_PATH)
    app.add_middleware(AuthenticationFailureLimit, MiddlewarePosition.BEFORE_SECURITY,
                       policies=policies)
    app.add_middleware(RateLimitMiddleware, MiddlewarePosition.BEFORE_VALIDATION,
                       policies=policies)
    app.add_middleware(IdempotencyMiddleware, MiddlewarePosition.BEFORE_CONTEXT,
                       policies={op: p for op, p in policies.items() if p.idempotent_creates})
    # Inside the exception middleware: its refusals become problems like any other.
    app.add_middleware(RequestGuard, MiddlewarePosition.BEFORE_SWAGGER,
                       max_body_bytes=settings.max_body_bytes, public_url=settings.public_url)
    register_error_handlers(app, allowed_methods_from_spec(SPEC_PATH))
    # Two of Connexion's layers with less work per request (api/operations.py).
    # Swapped last: the middleware positions above name Connexion's classes.
    cheaper = {RequestValidationMiddleware: RequestValidationMiddlewareOnce,
               SwaggerUIMiddleware: SwaggerUIOnItsPaths}
    app.middleware.middlewares[:] = [cheaper.get(layer, layer)
                                     for layer in app.middleware.middlewares]

    app.add_url_rule("/", "index", redirect_to_docs, methods=["GET"])
    spec = SpecDocument(SPEC_PATH.read_text())
    app.add_url_rule(f"{BASE_PATH}/openapi.json", "spec_json", spec.as_json, methods=["GET"])
    app.add_url_rule(f"{BASE_PATH}/openapi.yaml", "spec_yaml", spec.as_yaml, methods=["GET"])
    redoc = ReferenceDocs()
    app.add_url_rule(f"{BASE_PATH}/docs", "redoc", redoc.page, methods=["GET"])
    app.add_url_rule(f"{BASE_PATH}/docs/redoc.standalone.js", "redoc_js", redoc.script,
                     methods=["GET"])
    return app


def redirect_to_docs(_request):
    # No HTML body: every answer of this service is JSON or the docs themselves.
    return Response(status_code=302, headers={"Location": f"{BASE_PATH}/ui/"})


def allowed_methods_from_spec(spec_path: Path):
    """A function from a request path to the methods the spec has for it."""
    spec = yaml.safe_load(spec_path.read_text())
    routes = []
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\{[^/}]+\}", "[^/]+", template)  # templates hold no other regex
        methods = [m.upper() for m in HTTP_METHODS if m in item]
        routes.append((re.compile(f"^{re.escape(BASE_PATH)}{pattern}/?$"), methods))

    def allowed_methods(path: str) -> list[str]:
        for pattern, methods in routes:
            if pattern.match(path):
                return methods
        return []

    return allowed_methods
