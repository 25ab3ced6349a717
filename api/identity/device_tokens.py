"""Device tokens: a login's proof that this device logged in as this user
before (OWASP Authentication Cheat Sheet, "device cookies").

A successful login answers with a device token bound to its username. A
later login that presents it (the `Device-Token` header) spends the failure
budget of that device alone, not the username's: a guesser who fails for a
username from anywhere exhausts the username's budget, and the real user,
logging in from a device that has logged in before, is not kept out by it.
A guesser has no device token for an account whose password they do not
know.

Signed with a key of its own, derived from JWT_SECRET_KEY, so that a device
token can never pass for an access token, nor one for the other.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

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

    def issue(self, username: str) -> str:
        now = datetime.now(UTC)
        return jwt.encode({"typ": DEVICE, "sub": username.casefold(), "jti": str(uuid.uuid4()),
                           "iat": now, "exp": now + self.lifetime}, self.key, algorithm=ALGORITHM)

    def device_of(self, token: str | None, username: str) -> str | None:
        """The device's id when `token` is a live device token of `username`;
        None for anything else, which then counts as an unknown device."""
        if not token or len(token) > LONGEST_TOKEN:
            return None
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM],
                                options={"require": ["typ", "sub", "jti", "exp"]})
        except jwt.PyJWTError:
            return None
        if claims["typ"] != DEVICE or claims["sub"] != username.casefold() \
                or not isinstance(claims["jti"], str):
            return None
        return claims["jti"]
