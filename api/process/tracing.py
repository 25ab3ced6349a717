"""Traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set: one server
span per request, named by its operation's route (`PUT /api/v1/items/{item_id}`,
never the path sent), with the database's statements as its children, and the
trace id on the request's state, where the access log reads it.

OpenTelemetry is the optional extra `otel`, imported only by `start_tracing`:
with the variable unset, create_app never calls it, so nothing of
OpenTelemetry is imported and no layer is added. create_app runs in each
worker after gunicorn's fork, so the batch processor's thread and the
exporter's connections belong to the process that uses them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from api.contract.spec_policy import OperationPolicy, routed_operation
from api.runtime.config import Settings
from api.runtime.version import package_version
from models import Database
from openapi import BASE_PATH

SERVICE_NAME = "stores-api"
# The spec's public name of the operation, as client teams and the docs say it.
OPERATION_ID_ATTRIBUTE = "operationId"
ROUTE_ATTRIBUTE = "http.route"
# As the access log: no query string (the caller's text, which may be
# anything) and no path longer than this reaches a collector.
LOGGED_CHARS = 200
URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")
MISSING_EXTRA = ("OTEL_EXPORTER_OTLP_ENDPOINT is set, but OpenTelemetry is not installed: "
                 "pip install 'stores-api[otel]', or unset the variable")


@dataclass(frozen=True)
class Tracing:
    """What create_app installs: `middleware`, outermost of its layers, and
    `shutdown`, which the app's lifespan calls last."""

    provider: object  # opentelemetry.sdk.trace.TracerProvider
    middleware: Callable  # ASGI app -> ASGI app, for app.add_middleware
    shutdown: Callable[[], None]


@dataclass(frozen=True)
class Route:
    name: str
    attributes: dict[str, str]


def start_tracing(settings: Settings, database: Database,
                  policies: dict[str, OperationPolicy], span_processor=None) -> Tracing:
    """A tracer provider for this process, exporting to the settings' OTLP
    endpoint (or to `span_processor`, in tests), the database's statements
    traced, and the ASGI layer that makes each request's span."""
    _require_the_extra()
    from opentelemetry import trace
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    statements = _statements_untraced_so_far()
    provider = _tracer_provider(
        span_processor or _exporting_to(settings.otel_exporter_otlp_endpoint))
    # Statements run on the handler threads in a copy of the request's context
    # (api/runtime/handler_threads.py): their spans are the request's children.
    # Both of the database's engines: on PostgreSQL, reads have one of their own.
    # skip_dep_check: 0.66b2 declares "sqlalchemy < 2.1.0" (opentelemetry-python-
    # contrib 2971) and would instrument nothing on our 2.1; its events are the
    # same there, and tests/process/test_tracing.py fails if that stops being true.
    statements.instrument(engines=list(dict.fromkeys((database.engine, database.reads))),
                          tracer_provider=provider, skip_dep_check=True)
    routes = routes_of(policies)

    def middleware(app):
        return OpenTelemetryMiddleware(
            SpansNamedByRoute(app, routes, trace.get_current_span),
            tracer_provider=provider,
            # Named by the method until the route is known: the path is the caller's text.
            default_span_details=method_only,
            # No span per ASGI message: one per request, and the database's.
            exclude_spans=["receive", "send"])

    def shutdown() -> None:
        statements.uninstrument()
        provider.shutdown()  # exports what the batch still holds

    return Tracing(provider=provider, middleware=middleware, shutdown=shutdown)


def _require_the_extra() -> None:
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
        import opentelemetry.instrumentation.asgi  # noqa: F401
        import opentelemetry.instrumentation.sqlalchemy  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as missing:
        raise RuntimeError(MISSING_EXTRA) from missing


def _statements_untraced_so_far():
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    statements = SQLAlchemyInstrumentor()
    # A singleton: a second instrument() is ignored with a warning, and the
    # second engine would go untraced without a word.
    if statements.is_instrumented_by_opentelemetry:
        raise RuntimeError("tracing is already started in this process: one traced app "
                           "per process, until its lifespan has ended")
    return statements


def _exporting_to(endpoint: str):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_endpoint(endpoint)))


def _tracer_provider(span_processor):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from api.process.trace_sampling import RequestsOnly

    # Shut down by the lifespan, not at exit: the spans are flushed while the
    # worker still has its connections.
    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE_NAME,
                                  "service.version": package_version()}),
        sampler=RequestsOnly(),
        shutdown_on_exit=False)
    provider.add_span_processor(span_processor)
    return provider


def traces_endpoint(base: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; OTLP/HTTP
    sends traces to its /v1/traces, as the SDK does when it reads the variable."""
    return f"{base.rstrip('/')}/v1/traces"


def routes_of(policies: dict[str, OperationPolicy]) -> dict[str, Route]:
    """Each routed handler's span name and attributes, made once."""
    return {
        handler: Route(
            name=f"{policy.method} {BASE_PATH}{policy.path}",
            attributes={OPERATION_ID_ATTRIBUTE: policy.operation_id,
                        ROUTE_ATTRIBUTE: f"{BASE_PATH}{policy.path}"})
        for handler, policy in policies.items()
    }


def method_only(scope) -> tuple[str, dict]:
    from opentelemetry.util.http import sanitize_method

    method = sanitize_method(scope.get("method", ""))
    # A method no RFC names is the caller's text too ("_OTHER", as the conventions say).
    return ("HTTP" if method == "_OTHER" else method), {}


class SpansNamedByRoute:
    """Just inside OpenTelemetry's ASGI layer, where the request's span is the
    current one: puts the trace id on the request's state for the access log,
    and names the span after the operation Connexion routed to. The name is
    set when the answer starts, since OpenTelemetry ends the span with the
    answer's last message, or when the request ends without an answer."""

    def __init__(self, app, routes: dict[str, Route], current_span) -> None:
        self.app = app
        self.routes = routes
        self.current_span = current_span

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        span = self.current_span()
        context = span.get_span_context()
        if context.is_valid:
            scope.setdefault("state", {})["trace_id"] = format(context.trace_id, "032x")
        if not span.is_recording():
            return await self.app(scope, receive, send)
        _scrub(span)
        # Connexion's router works on a copy of the scope and leaves the
        # operation in its "extensions", a dict the copy shares with this scope.
        scope.setdefault("extensions", {})
        named = False

        def name_span() -> None:
            nonlocal named
            if named:
                return
            named = True
            route = self.routes.get(routed_operation(scope))
            if route is not None:
                span.update_name(route.name)
                span.set_attributes(route.attributes)

        async def send_named(message):
            if message["type"] == "http.response.start":
                name_span()
            await send(message)

        try:
            await self.app(scope, receive, send_named)
        finally:
            name_span()


def _scrub(span) -> None:
    """The request's attributes as OpenTelemetry's ASGI layer set them, without
    the query string and cut to LOGGED_CHARS."""
    for key, value in dict(getattr(span, "attributes", None) or {}).items():
        if not isinstance(value, str):
            continue
        scrubbed = value
        if key in URL_ATTRIBUTES:
            scrubbed = "" if key == "url.query" else scrubbed.split("?", 1)[0]
        if len(scrubbed) > LOGGED_CHARS:
            scrubbed = scrubbed[:LOGGED_CHARS] + "..."
        if scrubbed != value:
            span.set_attribute(key, scrubbed)
