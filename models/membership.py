"""Who may change a store: its members, each an owner or an editor, and
the invitations that make them.

A store's owners and editors are rows here; nothing else grants a role in a
store (admins act on every store through their account's flag, not a row).
A store without an owner row is managed by admins only. Nobody becomes a
member, or an owner, without saying yes: an owner invites, the invitee
accepts (or declines), and an invitation lapses after INVITATION_DAYS.
"""

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.store import Store
from models.user import User

OWNER, EDITOR = "owner", "editor"
ROLES = (OWNER, EDITOR)
# As long as GitHub's collaborator invitations wait for their answer.
INVITATION_DAYS = 7
# What a store's owners can make the service keep: its pending invitations.
MAX_PENDING_INVITATIONS = 20


class StoreMember(Base):
    __tablename__ = "store_members"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'editor')", name="role_known"),
        # A user's memberships: `GET /stores?member=me`, and deleting a user.
        Index("ix_store_members_user_id", "user_id"),
    )

    # The primary key is also what makes a second membership of one user a 409.
    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # A member is always shown with its username: loaded in the same SELECT.
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    store: Mapped[Store] = relationship(lazy="raise")


class StoreInvitation(Base):
    """An owner's offer of a role in a store to one user, pending until its
    invitee accepts or declines it, an owner withdraws it, or it lapses."""

    __tablename__ = "store_invitations"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'editor')", name="role_known"),
        # A user's invitations (`GET /users/me/invitations`), and deleting a user.
        Index("ix_store_invitations_user_id", "user_id"),
        # Pruning what lapsed.
        Index("ix_store_invitations_expires_at", "expires_at"),
    )

    # One pending invitation per user and store.
    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    # Who invited: kept after their account is deleted, as nobody.
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=lambda: utcnow() + timedelta(days=INVITATION_DAYS))

    # Shown with the invitee's username and the store's name: one SELECT.
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    store: Mapped[Store] = relationship(lazy="joined", innerjoin=True)


# A store's owner in its representation: the owner who has been one longest
# (its creator, until they hand it over), or None where no one owns it.
# Derived from the memberships, so it can never disagree with them.
Store.owner_id = column_property(
    select(StoreMember.user_id)
    .where(StoreMember.store_id == Store.id, StoreMember.role == OWNER)
    .order_by(StoreMember.added_at, StoreMember.user_id)
    .limit(1)
    .correlate_except(StoreMember)
    .scalar_subquery()
)
