"""The moves every handler shares: get-or-404, existence checks, commit-or-409."""

from collections.abc import Callable

from connexion.exceptions import ProblemException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.contract.problems import conflict, not_found, unprocessable
from api.runtime.request_context import db


def get_or_404(model, id_: int, what: str, *options, lock: bool = False):
    """The row, or 404. `lock`: held until commit, for a read-check-write."""
    # FOR UPDATE OF the row's own table: a joined collection's rows are not locked.
    row = db().get(model, id_, options=options,
                   with_for_update={"of": model} if lock else None)
    if row is None:
        raise not_found(what, id_)
    return row


def missing_reference(what: str, id_: int):
    """The 422 of a body that points at something that does not exist."""
    return unprocessable(f"{what} {id_} does not exist")


def require(model, id_: int, what: str, *, missing=not_found) -> None:
    """404 (or `missing`) unless the row exists; loads nothing else of it
    when only its existence matters."""
    if db().scalar(select(model.id).where(model.id == id_)) is None:
        raise missing(what, id_)


def commit_or_409(detail: str, *, missing: Callable[[], ProblemException] | None = None
                  ) -> None:
    """Commit; a unique constraint that fails is 409, and so is a foreign
    key unless `missing` makes that row's problem."""
    session = db()
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if missing and is_foreign_key_violation(exc):
            raise missing() from None
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
