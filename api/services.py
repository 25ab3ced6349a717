"""What the application holds for its lifetime: settings, database, token service."""

import hashlib
from dataclasses import dataclass

from api.config import Settings
from api.passwords import PasswordHasher
from api.tokens import TokenService
from models import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    tokens: TokenService
    passwords: PasswordHasher
    cursor_key: bytes

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        return cls(
            settings=settings,
            database=Database(settings.database_url, pool_size=settings.handler_threads),
            tokens=TokenService(
                secret_key=settings.jwt_secret_key,
                access_lifetime=settings.access_token_lifetime,
                refresh_lifetime=settings.refresh_token_lifetime,
            ),
            passwords=PasswordHasher.from_settings(settings),
            # A key of its own for cursors, derived so that a cursor can never
            # be mistaken for a token signature.
            cursor_key=hashlib.sha256(
                b"stores-api cursor\0" + settings.jwt_secret_key.encode()
            ).digest(),
        )
