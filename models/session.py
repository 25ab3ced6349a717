"""The engine and the session factory, built once per application."""

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite_connection(dbapi_connection, _record):
    # Foreign keys are off in SQLite unless asked for, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Readers do not wait for the writer, nor the writer for readers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy
    # emit BEGIN itself (the recipe of SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None


def _begin_sqlite_transaction(connection):
    # IMMEDIATE takes the write lock up front: a transaction that reads and
    # then writes waits its turn (busy timeout) instead of failing with
    # "database is locked" when two of them would upgrade their locks at once.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, pool_size: int = 10, *, reads: bool = False) -> Engine:
    # One connection for each thread that runs handlers and token lookups
    # (`pool_size`), and as many again of headroom. A statement that fails
    # is logged without its values: a password's hash, a caller's text.
    pooling = {"pool_size": pool_size, "max_overflow": pool_size, "hide_parameters": True}
    if url.startswith("sqlite"):
        _make_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30}, **pooling)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    # Reads in autocommit: each statement is its own transaction, with no
    # BEGIN or ROLLBACK round trip.
    options = {"isolation_level": "AUTOCOMMIT"} if reads else {}
    # pre-ping: connections broken while the database was away are replaced,
    # so the service recovers by itself; a short connect timeout turns an
    # unreachable database into a quick 503 rather than a hung request.
    engine = create_engine(
        url,
        **pooling,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {},
        **options,
    )
    if reads:
        event.listen(engine, "connect", _refuse_writes)
    return engine


def _make_sqlite_folder(url: str) -> None:
    # A fresh checkout's `instance/`: SQLite makes the file, not its folder.
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).absolute().parent.mkdir(parents=True, exist_ok=True)


def _refuse_writes(dbapi_connection, _record):
    # Once per connection: a write sent on it fails instead of committing on
    # its own. A statement rather than a startup option, which a pooler in
    # front (PgBouncer) refuses unless told to pass it.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    cursor.execute("SET default_transaction_read_only = on")
    cursor.close()
    dbapi_connection.autocommit = autocommit


class Database:
    def __init__(self, url: str, pool_size: int = 10):
        self.engine = make_engine(url, pool_size)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # For what only reads: the token check and the handlers of GET
        # requests. On PostgreSQL, a pool of its own in autocommit saves the
        # BEGIN and ROLLBACK round trips around every read (switching a
        # shared connection's isolation level there and back on every
        # checkout cost more than a third of the token lookup). It gives up
        # nothing: at READ COMMITTED, PostgreSQL's default and ours, each
        # statement of a transaction takes a snapshot of its own anyway.
        # SQLite's connections keep their own transaction handling (see above).
        self.reads = (
            make_engine(url, pool_size, reads=True)
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        self.read_sessionmaker = sessionmaker(self.reads, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

    def read_session(self) -> Session:
        """A session for reads only (on PostgreSQL, writes fail)."""
        return self.read_sessionmaker()

    def dispose(self) -> None:
        """Close every pooled connection (before a fork, or when done)."""
        self.engine.dispose()
        self.reads.dispose()
