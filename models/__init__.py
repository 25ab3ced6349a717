"""The data: SQLAlchemy 2 declarative models. Alembic migrations own the schema."""

from models.base import Base
from models.idempotency import IdempotencyKey
from models.item import LOCKED_WITH_TAGS, WITH_TAGS, Item, item_tags
from models.membership import (
    EDITOR,
    INVITATION_DAYS,
    MAX_PENDING_INVITATIONS,
    OWNER,
    ROLES,
    StoreInvitation,
    StoreMember,
)
from models.session import Database
from models.store import Store
from models.tag import Tag
from models.token import RevokedToken
from models.user import User

__all__ = [
    "LOCKED_WITH_TAGS",
    "WITH_TAGS",
    "Base",
    "Database",
    "EDITOR",
    "IdempotencyKey",
    "INVITATION_DAYS",
    "Item",
    "MAX_PENDING_INVITATIONS",
    "OWNER",
    "ROLES",
    "RevokedToken",
    "Store",
    "StoreInvitation",
    "StoreMember",
    "Tag",
    "User",
    "item_tags",
]
