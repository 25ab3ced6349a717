"""Revocations say whether a refresh token was used up by its rotation.

A refresh token re-presented within REFRESH_REUSE_SECONDS of its rotation
gets its rotated pair again (a retry whose answer was lost); one revoked by
a logout never does.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revoked_tokens") as table:
        table.add_column(sa.Column("rotated", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("revoked_tokens") as table:
        table.drop_column("rotated")
