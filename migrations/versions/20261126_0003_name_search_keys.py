"""Search keys for store and item names, the same on SQLite and PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

`name_folded` holds the NFC case fold of `name` (models/names.py); name filters
compare against it instead of lower(name), which folds ASCII only on SQLite and
follows the locale on PostgreSQL. Existing names are not rewritten: two rows
whose names differ only in normalisation would collide.
"""

import sqlalchemy as sa
from alembic import op

from models.names import FOLDED_LENGTH, search_key

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("stores", "items")


def upgrade() -> None:
    connection = op.get_bind()
    for name in TABLES:
        # The empty default only lets the column be added to filled tables.
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column(
                "name_folded", sa.String(FOLDED_LENGTH), nullable=False, server_default=""))
        table = sa.table(name, sa.column("id"), sa.column("name"), sa.column("name_folded"))
        rows = connection.execute(sa.select(table.c.id, table.c.name)).all()
        if rows:
            connection.execute(
                table.update().where(table.c.id == sa.bindparam("row_id")),
                [{"row_id": id_, "name_folded": search_key(text)} for id_, text in rows],
            )


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("name_folded")
