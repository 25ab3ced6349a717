"""The request's database session and the moves every handler shares."""

from collections.abc import Callable
from contextvars import ContextVar

from connexion.context import scope
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import conflict, not_found, unprocessable

# The session of the handler call running in this context: opened on first use,
# closed by `with_session` when the handler returns.
_session: ContextVar[Session | None] = ContextVar("db_session", default=None)


def services():
    """The application's services, put on every request by ServicesMiddleware."""
    return scope["state"]["services"]


def db() -> Session:
    """The session of this request, closed when its handler returns."""
    session = _session.get()
    if session is None:
        session = services().database.session()
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


def get_or_404(model, id_: int, what: str, *options, lock: bool = False):
    """The row, or 404. `lock`: held until commit, for a read-check-write."""
    row = db().get(model, id_, options=options, with_for_update=lock or None)
    if row is None:
        raise not_found(what, id_)
    return row


def missing_reference(what: str, id_: int):
    """The 422 of a body that points at something that does not exist."""
    return unprocessable(f"{what} {id_} does not exist")


def require(model, id_: int, what: str, *, missing=not_found) -> None:
    """404 (or `missing`) unless the row exists; loads nothing else of it,
    such as a store's counts, when only its existence matters."""
    if db().scalar(select(model.id).where(model.id == id_)) is None:
        raise missing(what, id_)


def commit_or_409(detail: str, *, missing: str | None = None) -> None:
    """Commit; a unique constraint that fails is 409, a foreign key that
    fails (`missing`, when given) is 422."""
    session = db()
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if missing and is_foreign_key_violation(exc):
            raise unprocessable(missing) from None
        raise conflict(detail) from None


def insert_ignoring_duplicates(table):
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect of the request's database."""
    if db().get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return sqlstate == "23503"
    return "FOREIGN KEY" in str(exc.orig)  # sqlite3
