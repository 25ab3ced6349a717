"""Store invitations: nobody becomes an owner or an editor without saying yes.

An owner invites a user by username; the user accepts or declines; an
invitation lapses after 7 days. Existing memberships stay as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_invitations",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'editor')",
                           name=op.f("ck_store_invitations_role_known")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE",
                                name=op.f("fk_store_invitations_store_id_stores")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_store_invitations_user_id_users")),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_store_invitations_invited_by_users")),
        sa.PrimaryKeyConstraint("store_id", "user_id", name=op.f("pk_store_invitations")),
    )
    op.create_index(op.f("ix_store_invitations_user_id"), "store_invitations", ["user_id"],
                    unique=False)
    op.create_index(op.f("ix_store_invitations_expires_at"), "store_invitations",
                    ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_store_invitations_expires_at"), table_name="store_invitations")
    op.drop_index(op.f("ix_store_invitations_user_id"), table_name="store_invitations")
    op.drop_table("store_invitations")
