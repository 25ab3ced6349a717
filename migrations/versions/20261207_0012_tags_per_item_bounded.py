"""An item carries at most 20 tags (the spec's `maxItems` of Item.tags).

Nothing changes in the schema: the service refuses a 21st link (409). This
revision checks that no item carries more already, so that every answer
keeps to the spec, and refuses to go on otherwise, naming how to find them:
which links go is the operator's decision, not a migration's.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op
from sqlalchemy import text

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MAX_TAGS_PER_ITEM = 20  # api/items.py; written here as it was when this ran
OVER_THE_BOUND = (
    "SELECT item_id, count(*) FROM item_tags GROUP BY item_id HAVING count(*) > :most")


def upgrade() -> None:
    over = op.get_bind().execute(text(OVER_THE_BOUND), {"most": MAX_TAGS_PER_ITEM}).all()
    if over:
        raise RuntimeError(
            f"{len(over)} items carry more than {MAX_TAGS_PER_ITEM} tags, the most the API "
            f"now allows; list them with: {OVER_THE_BOUND.replace(':most', str(MAX_TAGS_PER_ITEM))}"
            "; unlink what they need not carry, then upgrade again")


def downgrade() -> None:
    pass
