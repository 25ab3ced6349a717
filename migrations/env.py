"""Alembic environment: the models' metadata, the URL from the configuration."""

from alembic import context
from sqlalchemy import text

from api.runtime.config import Settings
from models import Base
from models.session import make_engine

config = context.config
target_metadata = Base.metadata
# The advisory lock migrations hold (PostgreSQL): "STORESMG" as a bigint.
MIGRATION_LOCK = int.from_bytes(b"STORESMG", "big") >> 1


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed over by a test
        _run(connection)
        return
    engine = make_engine(database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        _run_without_sqlite_foreign_keys(connection)
    else:
        _configure_and_migrate(connection)


def _run_without_sqlite_foreign_keys(connection) -> None:
    """Batch mode copies a table and drops the original; with foreign keys on,
    that drop would cascade to every row pointing at it (SQLite's docs, "ALTER
    TABLE"). They are switched off outside any transaction, where the pragma
    takes effect, and every reference is checked before they come back."""
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        _configure_and_migrate(connection)
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left {len(broken)} broken references")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _configure_and_migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Hosts or containers started at once migrate one after the
            # other, in one transaction each: the next reads the revision the
            # first left, and has nothing to do. (SQLite's write lock does so.)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
