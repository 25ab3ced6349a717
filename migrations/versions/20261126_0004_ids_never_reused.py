"""Ids are never handed out twice, on SQLite as on PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Without AUTOINCREMENT SQLite gives a new row the largest id + 1, so deleting
the newest tag and creating one gave the old id to a different tag: old URLs,
ETags and client caches pointed at it. SQLite only takes AUTOINCREMENT when a
table is created, so the three tables are copied (batch mode). PostgreSQL's
sequences never go back: nothing to do there.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("stores", "tags", "items")


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
