"""Alembic owns the schema: it builds exactly what the models describe."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from api.process import migrate
from models import Base, User


@pytest.fixture
def empty_database_url(new_database):
    return new_database("migrations")


def differences(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names - {"alembic_version"}


def test_upgrade_builds_exactly_what_the_models_describe(empty_database_url):
    migrate.upgrade(empty_database_url)
    assert tables(empty_database_url) == set(Base.metadata.tables)
    assert differences(empty_database_url) == []


def test_downgrade_to_base_and_upgrade_again(empty_database_url):
    migrate.upgrade(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert tables(empty_database_url) == set()
    migrate.upgrade(empty_database_url)
    assert differences(empty_database_url) == []
    migrate.downgrade(empty_database_url, "base")


def test_the_migrated_username_index_ignores_case(empty_database_url):
    migrate.upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    row = {"password_hash": "x", "is_admin": False, "created_at": datetime.now(UTC)}
    with engine.begin() as connection:
        connection.execute(insert(User), {**row, "username": "Alice"})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(User), {**row, "username": "aLICE"})
    engine.dispose()
    migrate.downgrade(empty_database_url, "base")


def test_copying_tables_for_autoincrement_keeps_every_row_and_link(empty_database_url):
    """Migration 0004 copies stores, tags and items on SQLite: nothing that
    points at them may be cascaded away on the way."""
    migrate.upgrade(empty_database_url, "0003")
    engine = create_engine(empty_database_url)
    now = datetime.now(UTC)
    rows = [
        "INSERT INTO stores (id, name, name_folded, created_at, updated_at) "
        "VALUES (1, 'S', 's', :t, :t)",
        "INSERT INTO items (id, name, name_folded, price, store_id, created_at, updated_at) "
        "VALUES (7, 'I', 'i', 1, 1, :t, :t)",
        "INSERT INTO tags (id, name, store_id, created_at) VALUES (3, 'T', 1, :t)",
        "INSERT INTO item_tags (item_id, tag_id) VALUES (7, 3)",
    ]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(text(row), {"t": now})
    migrate.upgrade(empty_database_url)
    with engine.connect() as connection:
        counts = [connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                  for table in ("stores", "items", "tags", "item_tags")]
    engine.dispose()
    assert counts == [1, 1, 1, 1]
    assert differences(empty_database_url) == []
    migrate.downgrade(empty_database_url, "base")


@pytest.mark.parametrize(("admins", "owner"), [((2, 3), 2), ((), None)])
def test_existing_stores_are_owned_by_the_earliest_admin_or_nobody(empty_database_url, admins, owner):
    """Migration 0007: stores made before owners existed."""
    migrate.upgrade(empty_database_url, "0006")
    engine = create_engine(empty_database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for user_id in (1, 2, 3):
            connection.execute(text(
                "INSERT INTO users (id, username, password_hash, is_admin, created_at) "
                "VALUES (:id, :name, 'x', :admin, :t)"),
                {"id": user_id, "name": f"u{user_id}", "admin": user_id in admins, "t": now})
        for store_id in (1, 2):
            connection.execute(text(
                "INSERT INTO stores (id, name, name_folded, created_at, updated_at) "
                "VALUES (:id, :name, :name, :t, :t)"), {"id": store_id, "name": f"s{store_id}", "t": now})
    migrate.upgrade(empty_database_url)
    with engine.connect() as connection:
        members = connection.execute(text(
            "SELECT store_id, user_id, role FROM store_members ORDER BY store_id")).all()
    engine.dispose()
    assert [tuple(row) for row in members] == ([(1, owner, "owner"), (2, owner, "owner")]
                                               if owner else [])
    migrate.downgrade(empty_database_url, "base")


def test_revocations_made_before_kinds_were_recorded_count_as_refreshes_when_rotated(
        empty_database_url):
    """Migration 0011: the token views never load a rotated refresh token."""
    migrate.upgrade(empty_database_url, "0010")
    engine = create_engine(empty_database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at) "
            "VALUES (1, 'u1', 'x', false, :t)"), {"t": now})
        for jti, rotated in (("rotated", True), ("logged-out", False)):
            connection.execute(text(
                "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at, rotated) "
                "VALUES (:jti, 1, :t, :t, :rotated)"), {"jti": jti, "t": now, "rotated": rotated})
    migrate.upgrade(empty_database_url)
    with engine.connect() as connection:
        kinds = dict(connection.execute(text("SELECT jti, kind FROM revoked_tokens")).all())
    engine.dispose()
    assert kinds == {"rotated": "refresh", "logged-out": None}
    migrate.downgrade(empty_database_url, "base")


def test_an_item_over_the_tags_it_may_carry_stops_the_upgrade_until_unlinked(empty_database_url):
    """Migration 0012: every answer keeps to the spec's 20 tags per item;
    which links go is the operator's decision."""
    migrate.upgrade(empty_database_url, "0011")
    engine = create_engine(empty_database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO stores (id, name, name_folded, created_at, updated_at)"
                                " VALUES (1, 'S', 's', :t, :t)"), {"t": now})
        connection.execute(text(
            "INSERT INTO items (id, name, name_folded, price, store_id, created_at, updated_at) "
            "VALUES (7, 'I', 'i', 1, 1, :t, :t)"), {"t": now})
        for tag_id in range(1, 22):
            connection.execute(text("INSERT INTO tags (id, name, store_id, created_at) "
                                    "VALUES (:id, :name, 1, :t)"),
                               {"id": tag_id, "name": f"t{tag_id}", "t": now})
            connection.execute(text("INSERT INTO item_tags (item_id, tag_id) VALUES (7, :id)"),
                               {"id": tag_id})
    with pytest.raises(RuntimeError, match="1 items carry more than 20 tags"):
        migrate.upgrade(empty_database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM item_tags WHERE tag_id = 21"))
    migrate.upgrade(empty_database_url)
    engine.dispose()
    assert differences(empty_database_url) == []
    migrate.downgrade(empty_database_url, "base")


def test_counts_are_filled_in_then_kept_through_inserts_deletes_and_cascades(
        empty_database_url):
    """Migration 0014: a store's and a tag's counts live in their rows, kept
    by the database whatever writes: the service, another host, psql."""
    migrate.upgrade(empty_database_url, "0013")
    engine = create_engine(empty_database_url)
    stores = "INSERT INTO stores (id, name, name_folded, created_at, updated_at) " \
             "VALUES (:id, :name, :name, :t, :t)"
    items = "INSERT INTO items (id, name, name_folded, price, store_id, created_at, " \
            "updated_at) VALUES (:id, :name, :name, 1, :store, :t, :t)"
    tags = "INSERT INTO tags (id, name, store_id, created_at) VALUES (:id, :name, :store, :t)"
    links = "INSERT INTO item_tags (item_id, tag_id) VALUES (:item, :tag)"

    def write(*statements):
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            for statement, rows in statements:
                connection.execute(text(statement), [{"t": now, **row} for row in rows])

    def counts():
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT 's', id, item_count, tag_count FROM stores UNION ALL "
                "SELECT 't', id, item_count, 0 FROM tags ORDER BY 1, 2"))]

    now = datetime.now(UTC)
    write((stores, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]),
          (items, [{"id": n, "name": f"i{n}", "store": 1} for n in (1, 2, 3)]),
          (tags, [{"id": 1, "name": "x", "store": 1}, {"id": 2, "name": "y", "store": 1},
                  {"id": 3, "name": "z", "store": 2}]),
          (links, [{"item": 1, "tag": 1}, {"item": 1, "tag": 2}, {"item": 2, "tag": 1}]))
    migrate.upgrade(empty_database_url)
    assert counts() == [("s", 1, 3, 2), ("s", 2, 0, 1), ("t", 1, 2, 0), ("t", 2, 1, 0),
                        ("t", 3, 0, 0)]
    write((items, [{"id": 4, "name": "i4", "store": 2}]), (links, [{"item": 3, "tag": 2}]))
    write(("DELETE FROM items WHERE id = 1", [{}]),  # and, by cascade, its two links
          ("DELETE FROM tags WHERE id = 3", [{}]))
    assert counts() == [("s", 1, 2, 2), ("s", 2, 1, 0), ("t", 1, 1, 0), ("t", 2, 1, 0)]
    write(("DELETE FROM stores WHERE id = 1", [{}]))  # its items, tags and links with it
    assert counts() == [("s", 2, 1, 0)]
    engine.dispose()
    migrate.downgrade(empty_database_url, "base")


@pytest.mark.postgres
def test_hosts_that_migrate_at_once_migrate_one_after_the_other(empty_database_url, tmp_path):
    """Containers started together (compose's migrations and the app, or
    several hosts) each run `upgrade`: the advisory lock of migrations/env.py
    makes the later ones find the first's revision, where they failed on a
    table that already existed. Processes, as hosts are: Alembic's context
    is one per process."""
    env = {**os.environ, "DATABASE_URL": empty_database_url,
           "INSTANCE_PATH": str(tmp_path / "instance")}
    upgrades = [subprocess.Popen([sys.executable, "-m", "api.cli", "db", "upgrade"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(3)]
    outputs = [process.communicate(timeout=120)[0] for process in upgrades]
    assert [process.returncode for process in upgrades] == [0, 0, 0], outputs
    assert differences(empty_database_url) == []
