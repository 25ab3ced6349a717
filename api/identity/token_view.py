"""What a worker knows of revoked tokens and of users, kept current by
PostgreSQL's LISTEN/NOTIFY, so that checking an access token needs no
database round trip.

Every request with an access token must be refused once the token, its chain
or its user is gone. Asking the database each time costs a pooled
connection, a round trip and a hop to a worker thread per request. Instead,
each worker keeps a view: the revoked ids an access check can ask about
(access tokens and logins, never refresh tokens, which are checked in the
database), for as long as it can ask (no access token outlives
ACCESS_TOKEN_SECONDS from its issue: tokens.py), and the `is_admin` of the
users it has seen. Triggers (migration 0006) send a notification on
`CHANNEL` for every revocation and for every user deleted or changed, and a
listener in each worker applies them.

The bound. PostgreSQL delivers notifications in the order their
transactions committed, and a listening session receives its own. So the
listener sends itself a beat every BEAT_SECONDS: when a beat sent at time t
comes back, everything committed before t has been applied. The view is
trusted for `bound` seconds after the last beat was sent, and not at all
otherwise: a token check then asks the database, as it does when the view
is off (SQLite; TOKEN_VIEW_BOUND_SECONDS=0). So a revocation committed at
time T is refused by every worker of every host from T + bound on, whatever
happens to the listener, the network or the database meanwhile. What this
worker commits itself it applies at once (`apply_committed`).
"""

import functools
import logging
import threading
import time
import uuid
from datetime import datetime

from api.runtime.config import BEAT_SECONDS
from api.runtime.own_connection import on_own_connection
from models.token import SEEN_BY_ACCESS_CHECKS

logger = logging.getLogger(__name__)

CHANNEL = "stores_api_tokens"
# Users whose admin flag is remembered; past this the memory starts over.
USERS_KEPT = 100_000
# How long past the access token lifetime a revoked login is kept: a refresh
# that read the login as live just before its revocation committed may issue
# an access token a moment later.
ISSUE_MARGIN_SECONDS = 60
# The revocations an access check can ask about, each kept until the earlier
# of its expiry and `keep` seconds after it was revoked (0011's index).
VIEWED_REVOCATIONS = (
    "SELECT jti, extract(epoch FROM least("
    "expires_at, revoked_at + make_interval(secs => %(keep)s)))::float8"
    f" FROM revoked_tokens WHERE {SEEN_BY_ACCESS_CHECKS}"
    " AND revoked_at > now() - make_interval(secs => %(keep)s) AND expires_at > now()")


class TokenView:
    """Revoked ids (until they expire, or `keep_seconds` after they were
    revoked) and users' admin flags, trusted only while the listener's last
    beat is younger than `bound` seconds."""

    def __init__(self, bound: float, keep_seconds: float, clock=time.monotonic):
        self.bound = bound
        self.keep_seconds = keep_seconds
        self.clock = clock
        self.revoked: dict[str, float] = {}  # id -> when it expires (epoch seconds)
        # user id -> (is_admin, session generation), for users that exist
        self.admins: dict[int, tuple[bool, int]] = {}
        self.trusted_until = 0.0
        self._user_changes = 0
        # Handler threads apply their commits while the listener applies
        # notifications: changes to either dict take the lock.
        self._lock = threading.Lock()

    def is_current(self) -> bool:
        return self.clock() < self.trusted_until

    def confirm(self, beat_sent_at: float) -> None:
        """Everything committed before `beat_sent_at` has been applied."""
        self.trusted_until = max(self.trusted_until, beat_sent_at + self.bound)

    def distrust(self) -> None:
        self.trusted_until = 0.0

    def is_revoked(self, claims: dict) -> bool:
        return claims["jti"] in self.revoked or claims["sid"] in self.revoked

    def user_changes(self) -> int:
        return self._user_changes

    def remember_user(self, user_id: int, user: tuple[bool, int], changes_before: int) -> None:
        """Keep what the database said of a user, unless a change to any user
        arrived while it was being asked (it might have been this one)."""
        with self._lock:
            if self._user_changes != changes_before:
                return
            if len(self.admins) >= USERS_KEPT:
                self.admins.clear()
            self.admins[user_id] = user

    def revoke(self, token_id: str, expires_at: float) -> None:
        until = min(expires_at, time.time() + self.keep_seconds)
        with self._lock:
            self.revoked[token_id] = until

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self._user_changes += 1
            self.admins.pop(user_id, None)

    def replace(self, revoked: dict[str, float]) -> None:
        """A fresh snapshot, after (re)connecting: users are asked again."""
        with self._lock:
            self._user_changes += 1
            self.revoked = revoked
            self.admins = {}

    def drop_expired(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:  # in place: a handler thread may be adding one
            for token_id in [jti for jti, until in self.revoked.items() if until <= now]:
                del self.revoked[token_id]

    def apply(self, payload: str) -> None:
        """One notification of the triggers: `revoked <id> <expires epoch>` or
        `user <id>`."""
        kind, _, rest = payload.partition(" ")
        if kind == "revoked":
            token_id, _, expires = rest.partition(" ")
            self.revoke(token_id, float(expires))
        elif kind == "user":
            self.forget_user(int(rest))

    def apply_committed(self, changes: dict) -> None:
        """What a session of this worker committed: applied now, without
        waiting for its notification to come back."""
        for token_id, expires_at in changes.get("revoked", {}).items():
            self.revoke(token_id, expires_at)
        for user_id in changes.get("users", ()):
            self.forget_user(user_id)


def note_revoked(session, token_id: str, expires_at: datetime) -> None:
    """Tell this worker's view of a revocation once `session` commits."""
    session.info.setdefault("token_view", {}).setdefault("revoked", {})[token_id] = (
        expires_at.timestamp())


def note_user_changed(session, user_id: int) -> None:
    session.info.setdefault("token_view", {}).setdefault("users", set()).add(user_id)


async def keep_current(view: TokenView, database_url: str) -> None:
    """Listen, load, beat, apply: forever, reconnecting after a failure. The
    view is distrusted from the moment the listener loses its connection."""

    def lost(exc: Exception) -> None:  # the database is away, or a payload was not ours
        view.distrust()
        logger.warning("token view: listener lost (%s); token checks ask the "
                       "database meanwhile", exc.__class__.__name__)

    try:
        await on_own_connection(database_url, functools.partial(_listen, view), lost)
    finally:
        view.distrust()  # nobody listens any more


async def _listen(view: TokenView, connection) -> None:
    # A beat channel of this listener's own, so that workers do not hear
    # each other's beats; the commit order holds across channels.
    beats = f"stores_api_beat_{uuid.uuid4().hex}"
    await connection.execute(f"LISTEN {CHANNEL}")
    await connection.execute(f"LISTEN {beats}")
    # Listening first, then the snapshot: nothing committed in between is missed.
    cursor = await connection.execute(VIEWED_REVOCATIONS, {"keep": view.keep_seconds})
    view.replace(dict(await cursor.fetchall()))
    pruned_at = time.monotonic()
    while True:
        await connection.execute("SELECT pg_notify(%s, %s)", (beats, repr(view.clock())))
        async for note in connection.notifies(timeout=BEAT_SECONDS):
            if note.channel == beats:
                # Sent before its NOTIFY committed: what committed earlier is here.
                view.confirm(float(note.payload))
            else:
                view.apply(note.payload)
        if time.monotonic() - pruned_at > 60:
            view.drop_expired()
            pruned_at = time.monotonic()
