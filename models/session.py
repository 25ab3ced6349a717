"""The engine and the session factory, built once per application."""

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite_connection(dbapi_connection, _record):
    # Foreign keys are off in SQLite unless asked for, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy
    # emit BEGIN itself (the recipe of SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None


def _begin_sqlite_transaction(connection):
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    # The Flask side of Connexion runs in a pool of 10 threads: one connection
    # each, and a little headroom for the security layer's lookups.
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


class Database:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()
