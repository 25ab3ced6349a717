"""How a user comes to exist (one way, for registration and `create-admin`
alike), is found by name, and gains or loses the admin role."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.identity.token_view import note_user_changed
from models import User


def new_user(username: str, password_hash: str, *, is_admin: bool = False) -> User:
    """A user to add to a session. Only the password's hash is kept: made by
    PasswordHasher.hash, or by PasswordChecks.hash in a request, off the
    handler threads."""
    return User(username=username, password_hash=password_hash, is_admin=is_admin)


def user_named(session: Session, username: str, *, lock: bool = False) -> User | None:
    """The user of that name, regardless of case, as usernames are unique."""
    query = select(User).where(func.lower(User.username) == username.lower())
    return session.scalar(query.with_for_update() if lock else query)


def is_last_admin(session: Session, user: User) -> bool:
    """Whether `user` is the only admin left. The admins' rows stay locked
    until commit, so that two admins cannot remove each other at once."""
    if not user.is_admin:
        return False
    admins = session.scalars(select(User.id).where(User.is_admin).with_for_update()).all()
    return len(admins) <= 1


def set_admin(session: Session, user: User, is_admin: bool) -> None:
    """Make `user` an admin or not; the caller checks is_last_admin first.
    Token checks read the flag from the user's row, not from the token, so
    the user's tokens carry the new role from the commit on: at once on the
    worker that commits, within the token view's bound elsewhere (the
    `users_notify` trigger, migration 0006)."""
    user.is_admin = is_admin
    note_user_changed(session, user.id)
