"""Idempotency keys note what their create made, and which process claims them.

`resource` is written in the create's own transaction, so a retry after a
crash answers with what was made instead of making it again; `claimant`
lets a retry on the same host see that the claiming process is dead.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.add_column(sa.Column("resource", sa.String(length=300), nullable=True))
        table.add_column(sa.Column("claimant", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("claimant")
        table.drop_column("resource")
