from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.contract.problems import database_unavailable
from api.runtime.request_context import db
from api.runtime.version import package_version


def get_health():
    try:
        db().execute(text("SELECT 1"))
    except DBAPIError:
        raise database_unavailable() from None
    return {"status": "ok", "database": "ok", "version": package_version()}
