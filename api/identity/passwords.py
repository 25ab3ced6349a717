"""Password hashing: argon2id for new hashes, pbkdf2_sha256 still accepted.

A login costs one hash, on purpose; PASSWORD_HASH_TIME_COST and
PASSWORD_HASH_MEMORY_KIB set how much. Hashes made with other settings (or an
older scheme) still verify, and are replaced at the next successful login.
"""

from passlib.context import CryptContext


class PasswordHasher:
    def __init__(self, time_cost: int, memory_kib: int):
        self.context = CryptContext(
            schemes=["argon2", "pbkdf2_sha256"],
            deprecated=["pbkdf2_sha256"],
            argon2__type="ID",
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_kib,
        )

    @classmethod
    def from_settings(cls, settings) -> "PasswordHasher":
        return cls(settings.password_hash_time_cost, settings.password_hash_memory_kib)

    def hash(self, password: str) -> str:
        return self.context.hash(password)

    def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Check a password; return (ok, new_hash) where new_hash replaces an outdated one.

        With no hash (unknown user) a dummy verification runs, so that a wrong
        username costs the same time as a wrong password.
        """
        if password_hash is None:
            self.context.dummy_verify()
            return False, None
        return self.context.verify_and_update(password, password_hash)
