"""One problem+json shape for every error, produced here.

Handlers raise (`raise not_found("store", 3)`), never build error responses.
Connexion's own problems (validation, security) pass through the same handlers,
which add what Connexion leaves out: `WWW-Authenticate` on 401 and a complete
`Allow` header on 405.
"""

import logging
from http import HTTPStatus

from connexion.exceptions import InternalServerError, ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.problem import problem
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)


def api_problem(status: int, detail: str, headers: dict | None = None, **ext
                ) -> ProblemException:
    return ProblemException(status=status, title=HTTPStatus(status).phrase, detail=detail,
                            headers=headers, ext=ext or None)


def not_found(what: str, id_: int) -> ProblemException:
    return api_problem(404, f"{what} {id_} does not exist")


def conflict(detail: str) -> ProblemException:
    return api_problem(409, detail)


def unprocessable(detail: str) -> ProblemException:
    return api_problem(422, detail)


def forbidden(detail: str) -> ProblemException:
    return api_problem(403, detail)


def unauthorized(detail: str) -> ProblemException:
    return api_problem(401, detail)


def database_unavailable() -> ProblemException:
    return api_problem(503, "the database cannot be reached", database="unavailable")


def register_error_handlers(app, allowed_methods) -> None:
    """`allowed_methods(path)` lists the methods the spec declares for a path."""

    def with_bearer_challenge(request: ConnexionRequest, exc: HTTPException):
        response = _as_problem(exc)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def with_allow_header(request: ConnexionRequest, exc: HTTPException):
        response = _as_problem(exc)
        methods = allowed_methods(request.url.path)
        if methods:
            response.headers["Allow"] = ", ".join(methods)
        return response

    def database_error(request: ConnexionRequest, exc: DBAPIError):
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            logger.error("database unavailable: %s", exc.__class__.__name__)
            return database_unavailable().to_problem()
        if isinstance(exc, IntegrityError):
            # Handlers map the integrity errors they expect; one that gets here
            # lost a race with a concurrent change.
            return conflict("the change conflicts with a concurrent change").to_problem()
        logger.error("database error", exc_info=exc)
        return InternalServerError().to_problem()

    app.add_error_handler(401, with_bearer_challenge)
    app.add_error_handler(405, with_allow_header)
    app.add_error_handler(DBAPIError, database_error)


def _as_problem(exc: HTTPException):
    if isinstance(exc, ProblemException):
        response = exc.to_problem()
    else:
        response = problem(
            status=exc.status_code,
            title=HTTPStatus(exc.status_code).phrase,
            detail=exc.detail,
            headers=exc.headers,
        )
    logger.warning("%s %s", response.status_code, getattr(exc, "detail", ""))
    if response.headers is None:
        response.headers = {}
    return response
