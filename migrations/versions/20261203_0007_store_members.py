"""Store members: each store's owners and editors.

Existing stores get the earliest admin (by account id) as their owner, so
that someone who can hand them over keeps them; without any admin they stay
ownerless, managed by admins only (docs/operations.md says how to hand them
over).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_members",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'editor')",
                           name=op.f("ck_store_members_role_known")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE",
                                name=op.f("fk_store_members_store_id_stores")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_store_members_user_id_users")),
        sa.PrimaryKeyConstraint("store_id", "user_id", name=op.f("pk_store_members")),
    )
    op.create_index(op.f("ix_store_members_user_id"), "store_members", ["user_id"],
                    unique=False)
    # Every existing store: owned by the earliest admin, when there is one.
    op.execute(
        "INSERT INTO store_members (store_id, user_id, role, added_at) "
        "SELECT stores.id, admin.id, 'owner', CURRENT_TIMESTAMP FROM stores, "
        "(SELECT id FROM users WHERE is_admin ORDER BY id LIMIT 1) AS admin"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_store_members_user_id"), table_name="store_members")
    op.drop_table("store_members")
