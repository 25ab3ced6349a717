"""Password hashing: argon2id for new hashes, pbkdf2_sha256 still accepted."""

from passlib.context import CryptContext

password_context = CryptContext(
    schemes=["argon2", "pbkdf2_sha256"],
    deprecated=["pbkdf2_sha256"],
    argon2__type="ID",
)


def hash_password(password: str) -> str:
    return password_context.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check a password; return (ok, new_hash) where new_hash replaces an old scheme.

    With no hash (unknown user) a dummy verification runs, so that a wrong
    username costs the same time as a wrong password.
    """
    if password_hash is None:
        password_context.dummy_verify()
        return False, None
    return password_context.verify_and_update(password, password_hash)
