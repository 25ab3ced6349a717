from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import (
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)

from models.base import Base, UTCDateTime, utcnow
from models.names import SearchableName
from models.tag import Tag

# Deleting an item removes its links; deleting a tag that still has links is
# refused by the database (NO ACTION), which the API reports as 409.
item_tags = Table(
    "item_tags",
    Base.metadata,
    Column(
        "item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
    # The items of a tag, in keyset (item id) order.
    Index("ix_item_tags_tag_id_item_id", "tag_id", "item_id"),
)


class Item(SearchableName, Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        # Keyset pages: (filter, id) reads one page whatever the table's size.
        Index("ix_items_store_id_id", "store_id", "id"),
        Index("ix_items_price_id", "price", "id"),
        {"sqlite_autoincrement": True},  # ids never reused (see Store)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    description: Mapped[str | None] = mapped_column(String(1000))
    # Indexed as the leading column of the unique (store_id, name) constraint.
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    # Loaded explicitly (selectinload) wherever items are returned.
    tags: Mapped[list[Tag]] = relationship(
        secondary=item_tags, order_by=Tag.id, lazy="raise", passive_deletes=True
    )


# How items are loaded wherever they are returned: with their tags' ids and
# names only (an item shows no tag's item count), in one more SELECT per page;
# under a row lock, in the same SELECT (LOCKED_WITH_TAGS).
WITH_TAGS = selectinload(Item.tags).load_only(Tag.id, Tag.name)
# One item read under its row lock, with its tags in the same SELECT: the
# lock is held until commit, and a second round trip would lengthen it.
LOCKED_WITH_TAGS = joinedload(Item.tags).load_only(Tag.id, Tag.name)
