"""JWT access and refresh tokens: issuing, decoding, revoking.

Tokens are HS256 JWTs. Besides the standard claims each carries `sid`, the id of
its rotation chain: every pair issued from one login shares it, so the chain can
be revoked at once when a rotated refresh token is presented again; and `gen`,
its user's session generation when it was issued: counting that up
(`end_sessions`) ends every chain of the user at once.
"""

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.identity.token_view import note_revoked, note_user_changed
from models import RevokedToken, User

ALGORITHM = "HS256"  # pinned: decoding accepts nothing else, `none` included
# The namespace of the ids of a rotated pair (derived from the used token's id).
ROTATED = uuid.UUID("5f0c4a8e-3a2b-4c1d-9e6f-7a8b9c0d1e2f")
ACCESS = "access"
REFRESH = "refresh"
CHAIN = "chain"  # a revocation of every token of one login


# What the claims of a token of ours look like. A token signed with our key but
# shaped otherwise ("²" or "٣" as `sub`, a list as `sid`) is refused as malformed.
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CLAIM_SHAPES = {
    "sub": re.compile(r"^[1-9][0-9]{0,9}$"),
    "jti": UUID_TEXT,
    "sid": UUID_TEXT,
    "type": re.compile(r"^(access|refresh)$"),
    "scope": re.compile(r"^[a-z ]{0,40}$"),
}
MAX_USER_ID = 2**31 - 1
# Verified tokens remembered per worker; past this the memory starts over.
VERIFIED_KEPT = 10_000


class InvalidToken(Exception):
    """The token cannot be used: bad signature, expired, wrong type, revoked."""


@dataclass(frozen=True)
class TokenService:
    secret_key: str
    access_lifetime: timedelta
    refresh_lifetime: timedelta
    # Claims of tokens whose signature and shape were verified, by token: a
    # client sends the same token with every request, and verifying it again
    # gives the same answer. Expiry and type are checked on every use.
    _verified: dict = field(default_factory=dict, compare=False, repr=False)

    def issue_pair(self, user: User, *, fresh: bool) -> dict:
        """A TokenPair for `user`, the first of a new rotation chain."""
        chain_id, now = str(uuid.uuid4()), datetime.now(UTC)
        return self._pair(user, fresh, chain_id, now, str(uuid.uuid4()), str(uuid.uuid4()))

    def rotated_pair(self, user: User, refresh_claims: dict, rotated_at: datetime) -> dict:
        """The pair a refresh token rotates into, in its chain: the same
        tokens whenever it is asked for (their ids derived from the used
        token's, issued at `rotated_at`), so that a retried refresh gets the
        answer it lost, and the chain still has one live refresh token."""
        used = refresh_claims["jti"]
        return self._pair(user, False, refresh_claims["sid"], rotated_at,
                          str(uuid.uuid5(ROTATED, f"{used} access")),
                          str(uuid.uuid5(ROTATED, f"{used} refresh")))

    def _pair(self, user: User, fresh: bool, chain_id: str, now: datetime,
              access_id: str, refresh_id: str) -> dict:
        return {
            "access_token": self._encode(user, ACCESS, fresh, chain_id, access_id, now),
            "refresh_token": self._encode(user, REFRESH, False, chain_id, refresh_id, now),
            "token_type": "Bearer",
            "expires_in": int(self.access_lifetime.total_seconds()),
        }

    def _encode(self, user: User, token_type: str, fresh: bool, chain_id: str, token_id: str,
                now: datetime) -> str:
        lifetime = self.access_lifetime if token_type == ACCESS else self.refresh_lifetime
        scope = ["admin"] if user.is_admin else []
        if fresh:
            scope.append("fresh")
        claims = {
            "sub": str(user.id),
            "jti": token_id,
            "sid": chain_id,
            "type": token_type,
            "fresh": fresh,
            "scope": " ".join(scope),
            "gen": user.session_generation or 0,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.secret_key, algorithm=ALGORITHM)

    def decode(self, token: str, expected_type: str, *, verify_exp: bool = True) -> dict:
        claims = self.signed_claims(token)
        if verify_exp and self._expired(claims):
            raise InvalidToken("the token has expired")
        if claims["type"] != expected_type:
            raise InvalidToken(f"this operation needs a token of type {expected_type!r}")
        return claims

    def _expired(self, claims: dict) -> bool:
        """As PyJWT checks `exp`: from the second it names, no leeway. An
        access token also ends ACCESS_TOKEN_SECONDS after it was issued,
        whatever lifetime it was issued with: the token views keep a revoked
        login no longer than that (api/identity/token_view.py)."""
        now = int(time.time())
        return claims["exp"] <= now or (
            claims["type"] == ACCESS
            and claims["iat"] + self.access_lifetime.total_seconds() <= now)

    def signed_claims(self, token: str) -> dict:
        """The claims of a token signed by this service, of any type and
        whether or not it has expired; InvalidToken for any other."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= VERIFIED_KEPT:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> dict:
        """The claims of a token of ours, whatever its expiry."""
        try:
            claims = jwt.decode(
                token,
                self.secret_key,
                algorithms=[ALGORITHM],
                options={
                    "require": ["sub", "jti", "sid", "type", "iat", "exp"],
                    "verify_exp": False,
                },
            )
        except jwt.InvalidTokenError:
            raise InvalidToken("the token is malformed or badly signed") from None
        if not well_formed(claims):
            raise InvalidToken("the token is malformed or badly signed")
        return claims


def well_formed(claims: dict) -> bool:
    for name, shape in CLAIM_SHAPES.items():
        value = claims.get(name, "")
        if not isinstance(value, str) or not shape.fullmatch(value):
            return False
    return (int(claims["sub"]) <= MAX_USER_ID and isinstance(claims.get("fresh", False), bool)
            and all(type(claims[name]) is int for name in ("iat", "exp"))
            and type(claims.get("gen", 0)) is int and 0 <= claims.get("gen", 0) <= MAX_USER_ID)


# Built once: the check runs on every request, and building a statement costs
# SQLAlchemy more than running it does.
_LIVE_TOKEN_USER = select(User.is_admin, User.session_generation).where(
    User.id == bindparam("user_id"),
    ~exists().where(RevokedToken.jti.in_([bindparam("chain_id"), bindparam("token_id")])),
)


def live_token_user(connection: Connection, claims: dict, *, check_jti: bool = True
                    ) -> tuple[bool, int] | None:
    """The token's user's `is_admin` and session generation, or None when the
    user is gone or the token's chain (or, with `check_jti`, the token
    itself) has been revoked. The caller compares the generations."""
    row = connection.execute(_LIVE_TOKEN_USER, {
        "user_id": int(claims["sub"]),
        "chain_id": claims["sid"],
        "token_id": claims["jti"] if check_jti else claims["sid"],
    }).first()
    return None if row is None else (row[0], row[1])


def end_sessions(session: Session, user: User) -> None:
    """End every login of `user`, on every worker and host: each token
    issued so far names an older generation from now on."""
    user.session_generation = (user.session_generation or 0) + 1
    note_user_changed(session, user.id)


def revoke_token(session: Session, claims: dict, *, rotated_at: datetime | None = None) -> bool:
    """Revoke one token; False when it was revoked already. `rotated_at`: a
    refresh token used up by a rotation at that time, not by a logout."""
    return _insert_revocation(session, claims["jti"], claims, rotated_at=rotated_at)


def revoke_chain(session: Session, claims: dict, lifetime: timedelta) -> None:
    """Revoke every token of the claims' rotation chain, now and to come.

    No token of the chain can outlive the longest token lifetime from now,
    which is how long the row has to be kept.
    """
    expires_at = datetime.now(UTC) + lifetime
    _insert_revocation(session, claims["sid"], claims, expires_at=expires_at)


def _insert_revocation(session: Session, jti: str, claims: dict, expires_at=None,
                       rotated_at: datetime | None = None) -> bool:
    expires_at = expires_at or datetime.fromtimestamp(claims["exp"], UTC)
    kind = CHAIN if jti == claims["sid"] else claims["type"]
    # A savepoint: a concurrent revocation of the same id is an answer, not an error.
    try:
        with session.begin_nested():
            session.execute(
                insert(RevokedToken).values(
                    jti=jti,
                    user_id=int(claims["sub"]),
                    expires_at=expires_at,
                    revoked_at=rotated_at or datetime.now(UTC),
                    rotated=rotated_at is not None,
                    kind=kind,
                )
            )
    except IntegrityError:
        return False
    if kind != REFRESH:  # no access check asks about a refresh token
        note_revoked(session, jti, expires_at)  # this worker's view knows at commit
    return True
