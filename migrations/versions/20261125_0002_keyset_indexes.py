"""Indexes for every list filter, in keyset (id) order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

A page is `WHERE <filter> AND id > :cursor ORDER BY id LIMIT n`: an index on
(filter, id) reads n rows whatever the size of the table.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_store_id_id", "items", ["store_id", "id"])
    op.create_index("ix_items_price_id", "items", ["price", "id"])
    op.create_index("ix_tags_store_id_id", "tags", ["store_id", "id"])
    # (tag_id, item_id) serves "the items of a tag" in item order.
    op.drop_index("ix_item_tags_tag_id", table_name="item_tags")
    op.create_index("ix_item_tags_tag_id_item_id", "item_tags", ["tag_id", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_item_tags_tag_id_item_id", table_name="item_tags")
    op.create_index("ix_item_tags_tag_id", "item_tags", ["tag_id"])
    op.drop_index("ix_tags_store_id_id", table_name="tags")
    op.drop_index("ix_items_price_id", table_name="items")
    op.drop_index("ix_items_store_id_id", table_name="items")
