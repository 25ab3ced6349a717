"""How a user comes to exist: one way, for registration and `create-admin` alike."""

from api.passwords import PasswordHasher
from models import User


def new_user(passwords: PasswordHasher, username: str, password: str, *,
             is_admin: bool = False) -> User:
    """A user to add to a session; only the password's hash is kept."""
    return User(username=username, password_hash=passwords.hash(password), is_admin=is_admin)
