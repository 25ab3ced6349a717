"""How a user comes to exist: one way, for registration and `create-admin` alike."""

from models import User


def new_user(username: str, password_hash: str, *, is_admin: bool = False) -> User:
    """A user to add to a session. Only the password's hash is kept: made by
    PasswordHasher.hash, or by PasswordChecks.hash in a request, off the
    handler threads."""
    return User(username=username, password_hash=password_hash, is_admin=is_admin)
