from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.names import NormalisedName


class Tag(NormalisedName, Base):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        Index("ix_tags_store_id_id", "store_id", "id"),  # a store's tags, in keyset order
        {"sqlite_autoincrement": True},  # ids never reused (see Store)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # Indexed as the leading column of the unique (store_id, name) constraint.
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Kept by the database's triggers (migration 0014), never written here.
    item_count: Mapped[int] = mapped_column(server_default=text("0"))

