from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.contract.problems import database_unavailable
from api.runtime.request_context import db


def get_health():
    try:
        db().execute(text("SELECT 1"))
    except DBAPIError:
        raise database_unavailable() from None
    return {"status": "ok", "database": "ok", "version": _version()}


def _version() -> str:
    try:
        return version("stores-api")
    except PackageNotFoundError:
        return "0+unknown"
