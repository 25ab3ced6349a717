"""What a request reaches: the application's services and its database session.

The services come from the app's lifespan (api.app), which Starlette copies
into every request's `scope["state"]`; handlers and the token checks both read
them from there.
"""

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from connexion.context import scope
from sqlalchemy.orm import Session

from api.runtime.handler_threads import HandlerThreads

if TYPE_CHECKING:  # built above this layer, by the factory (api/process/services.py)
    from api.process.services import Services

# The session of the handler call running in this context: opened on first use,
# closed by `with_session` when the handler returns.
_session: ContextVar[Session | None] = ContextVar("db_session", default=None)
# Requests that only read (RFC 9110's safe methods that reach a handler).
READING_METHODS = frozenset({"GET", "HEAD"})


def services_of(request_scope) -> "Services":
    """The services on a request's scope: what the security layer, which runs
    before Connexion's context exists, uses."""
    return request_scope["state"]["services"]


def handler_threads_of(request_scope) -> HandlerThreads:
    """The threads that do this worker's database work (api/runtime/handler_threads.py)."""
    return request_scope["state"]["handler_threads"]


def current_scope() -> dict:
    """This request's ASGI scope, inside a handler. Cheaper to read than
    `connexion.request`, which builds a new request object (and Starlette's
    under it) on every attribute read: some 20 us for one header."""
    return scope._get_current_object()


def query_pairs(request_scope) -> list[tuple[str, str]]:
    """The query string's name and value pairs, parsed as Starlette parses them."""
    return parse_qsl(request_scope.get("query_string", b"").decode("latin-1"),
                     keep_blank_values=True)


def services() -> "Services":
    """The application's services, inside a handler."""
    return services_of(scope)


def db() -> Session:
    """The session of this request, closed when its handler returns: for a
    GET, one that reads without a transaction (models/session.py)."""
    session = _session.get()
    if session is None:
        request_scope = current_scope()
        database = services_of(request_scope).database
        session = (database.read_session() if request_scope["method"] in READING_METHODS
                   else database.session())
        _session.set(session)
    return session


def with_session(handler: Callable) -> Callable:
    """`handler`, closing the session it opened (if any) however it ends.

    Connexion runs a synchronous handler in a worker thread, in a copy of the
    request's context: the session lives and dies in that one thread.
    """

    def call(*args, **kwargs):
        reset = _session.set(None)
        try:
            return handler(*args, **kwargs)
        finally:
            session = _session.get()
            _session.reset(reset)
            if session is not None:
                session.close()

    return call
