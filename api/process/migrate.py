"""Alembic, driven from Python: the command line and the tests use these."""

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_config(database_url: str) -> Config:
    # The migrations are a package: found where it is installed, not beside a
    # checkout. alembic.ini stays for developers' `alembic revision`.
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def script_directory(database_url: str) -> ScriptDirectory:
    """The migrations as Alembic knows them: heads, revisions, messages."""
    return ScriptDirectory.from_config(alembic_config(database_url))


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)
