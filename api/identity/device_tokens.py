"""Device tokens: a login's proof that this device logged in to this account
before (OWASP Authentication Cheat Sheet, "device cookies").

A successful login answers with a device token bound to the account (its
id, so that a name deleted and registered again is another account) and to
its current logins (its session generation: `users set-password`,
`users revoke-sessions` and the account's deletion end it as they end every
token). A later login that presents it (the `Device-Token` header) spends
the failure budget of that device alone, not the username's: a guesser who
fails for a username from anywhere exhausts the username's budget, and the
real user, logging in from a device that has logged in before, is not kept
out by it. A guesser has no device token for an account whose password they
do not know. A device holds one token: a login that presents a live one
gets it back renewed, with the same device id.

Signed with a key of its own, derived from JWT_SECRET_KEY, so that a device
token can never pass for an access token, nor one for the other.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from api.identity.tokens import UUID_TEXT

ALGORITHM = "HS256"
DEVICE = "device"
# The request header a login presents it in, as ASGI spells header names.
DEVICE_TOKEN_HEADER = b"device-token"
# What a header may hold before it is even looked at.
LONGEST_TOKEN = 1024


@dataclass(frozen=True)
class DeviceTokens:
    key: bytes
    lifetime: timedelta

    @classmethod
    def from_secret(cls, secret_key: str, lifetime: timedelta) -> "DeviceTokens":
        return cls(hashlib.sha256(b"stores-api device\0" + secret_key.encode()).digest(),
                   lifetime)

    def issue(self, user, device: str | None = None) -> str:
        """A device token for `user`'s current logins; `device`'s own id
        renewed when the login came from a known device."""
        now = datetime.now(UTC)
        return jwt.encode({"typ": DEVICE, "sub": str(user.id), "jti": device or str(uuid.uuid4()),
                           "gen": user.session_generation or 0, "iat": now,
                           "exp": now + self.lifetime}, self.key, algorithm=ALGORITHM)

    def device_of(self, token: str | None, user) -> str | None:
        """The device's id when `token` is a live device token of `user`'s
        current logins; None for anything else (no such user included),
        which then counts as an unknown device."""
        if not token or len(token) > LONGEST_TOKEN or user is None:
            return None
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM],
                                options={"require": ["typ", "sub", "jti", "gen", "exp"]})
        except jwt.PyJWTError:
            return None
        if claims["typ"] != DEVICE or claims["sub"] != str(user.id) \
                or claims["gen"] != (user.session_generation or 0) \
                or not isinstance(claims["jti"], str) or not UUID_TEXT.fullmatch(claims["jti"]):
            return None
        return claims["jti"]
