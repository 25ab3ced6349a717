from datetime import datetime

from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.names import SearchableName


class Store(SearchableName, Base):
    __tablename__ = "stores"
    # AUTOINCREMENT on SQLite: the id of a deleted store is never handed out
    # again, so an old URL or ETag cannot come to name another store.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Kept by the database's triggers (migration 0014), never written here.
    item_count: Mapped[int] = mapped_column(server_default=text("0"))
    tag_count: Mapped[int] = mapped_column(server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
