"""What the application holds for its lifetime: settings, database, token service."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import event

from api.identity.device_tokens import DeviceTokens
from api.identity.passwords import PasswordHasher
from api.identity.token_view import ISSUE_MARGIN_SECONDS, TokenView
from api.identity.tokens import TokenService
from api.policies.claimants import Claimants
from api.runtime.config import Settings
from models import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    tokens: TokenService
    passwords: PasswordHasher
    device_tokens: DeviceTokens
    cursor_key: bytes
    # What this worker knows of revocations and users (PostgreSQL only).
    token_view: TokenView | None
    # This process as the claimant of Idempotency-Keys.
    claimants: Claimants

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        database = Database(settings.database_url, pool_size=settings.handler_threads)
        signing_key = settings.signing_key()
        return cls(
            settings=settings,
            database=database,
            tokens=TokenService(
                secret_key=signing_key,
                access_lifetime=timedelta(seconds=settings.access_token_seconds),
                refresh_lifetime=timedelta(seconds=settings.refresh_token_seconds),
            ),
            passwords=PasswordHasher.from_settings(settings),
            device_tokens=DeviceTokens.from_secret(
                signing_key, timedelta(seconds=settings.device_token_seconds)),
            # A key of its own for cursors, derived so that a cursor can never
            # be mistaken for a token signature.
            cursor_key=hashlib.sha256(
                b"stores-api cursor\0" + signing_key.encode()
            ).digest(),
            token_view=_token_view(settings, database),
            claimants=Claimants(settings.database_url),
        )


def _token_view(settings: Settings, database: Database) -> TokenView | None:
    """A view kept current by LISTEN/NOTIFY, and told at once of what this
    worker's own sessions commit; none on SQLite or when turned off."""
    if database.engine.dialect.name != "postgresql" or not settings.token_view_bound_seconds:
        return None
    view = TokenView(settings.token_view_bound_seconds,
                     keep_seconds=settings.access_token_seconds + ISSUE_MARGIN_SECONDS)

    @event.listens_for(database.sessionmaker, "after_commit")
    def committed(session):
        view.apply_committed(session.info.pop("token_view", {}))

    @event.listens_for(database.sessionmaker, "after_soft_rollback")
    def rolled_back(session, _previous_transaction):
        if not session.in_transaction():
            session.info.pop("token_view", None)

    return view
