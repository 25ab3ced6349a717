from datetime import datetime

from sqlalchemy import Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"
    # AUTOINCREMENT on SQLite: a deleted user's id is never handed out again,
    # so a token that names it can never wake up as somebody else.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Counted up to end every login of the user at once: a token issued in
    # another generation is refused (api/identity/tokens.py).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Usernames are unique regardless of case: "Alice" and "alice" collide.
Index("uq_users_username_lower", func.lower(User.username), unique=True)
