from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from api.contract.problems import api_problem, conflict, unauthorized
from api.handling.representations import location, user_json
from api.identity.accounts import new_user
from api.identity.device_tokens import DEVICE_TOKEN_HEADER
from api.identity.tokens import REFRESH, InvalidToken, revoke_chain, revoke_token
from api.policies.rate_limits import CredentialBudget
from api.runtime.metrics import LOGIN_FAILURES, REFRESH_TOKEN_REUSES, TOKEN_REFRESHES
from api.runtime.request_context import (
    current_scope,
    db,
    handler_threads_of,
    services,
    services_of,
)
from models import RevokedToken, User


async def register(body):
    # On the event loop, as login: the hash on the password threads, the
    # insert on a handler thread.
    request_scope = current_scope()
    password_hash = await request_scope["state"]["password_checks"].hash(body["password"])
    user = await handler_threads_of(request_scope).run(
        _add_user, services_of(request_scope).database, new_user(body["username"], password_hash))
    return user_json(user), 201, location("users", user.id)


def _add_user(database, user: User) -> User:
    with database.session() as session:
        session.add(user)
        try:
            session.commit()
        except IntegrityError:
            raise conflict("this username is taken") from None
    return user


async def login(body):
    # On the event loop: the database work goes to the handler threads, the
    # password check to threads of its own (api/identity/password_checks.py).
    request_scope = current_scope()
    found = services_of(request_scope)
    threads = handler_threads_of(request_scope)
    username = body["username"]
    user = await threads.run(_user_named, found.database, username)
    # A device token counts only for the account's current logins.
    device = found.device_tokens.device_of(_header(request_scope, DEVICE_TOKEN_HEADER), user)
    # The attempt counts (against the username, or a known device, and the
    # address) before the password is checked; as a failure, given back if
    # it was right: concurrent guesses cannot all pass the check.
    budget = CredentialBudget(request_scope, username, device)
    await budget.reserve()
    try:
        # The same work whether or not the username exists.
        ok, new_hash = await request_scope["state"]["password_checks"].verify(
            body["password"], user.password_hash if user else None)
    except BaseException:
        await budget.release()  # no verdict on the password
        raise
    if not ok:
        LOGIN_FAILURES.inc()
        raise unauthorized("the username or the password is wrong")
    await budget.release()
    if new_hash:  # an older scheme or cost: store the current one from now on
        await threads.run(_replace_hash, found.database, user.id, new_hash)
    pair = found.tokens.issue_pair(user, fresh=True)
    return {**pair, "device_token": found.device_tokens.issue(user, device)}, 200


def _user_named(database, username: str) -> User | None:
    with database.read_session() as session:
        return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def _replace_hash(database, user_id: int, password_hash: str) -> None:
    with database.session() as session:
        session.execute(update(User).where(User.id == user_id)
                        .values(password_hash=password_hash))
        session.commit()


def _header(request_scope, name: bytes) -> str | None:
    for key, value in request_scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def refresh_tokens(token_info):
    """Rotate: use the refresh token up, and answer with its rotated pair.

    Presented again within REFRESH_REUSE_SECONDS of its rotation (a retry
    whose answer was lost), it gets that same pair. Later, or after a
    logout, it is a copy in somebody else's hands: the whole chain ends."""
    claims = token_info["claims"]
    session = db()
    settings = services().settings
    now = datetime.now(UTC).replace(microsecond=0)  # a JWT's times are whole seconds
    rotated_at = now if revoke_token(session, claims, rotated_at=now) \
        else _rotated_within_leeway(session, claims, now,
                                    timedelta(seconds=settings.refresh_reuse_seconds))
    if rotated_at is None:
        revoke_chain(session, claims, services().tokens.refresh_lifetime)
        session.commit()
        REFRESH_TOKEN_REUSES.inc()
        raise unauthorized(
            "the refresh token was already used; every token of this login is revoked"
        )
    user = session.get(User, token_info["sub"])
    if user is None:  # deleted since the security layer looked
        raise unauthorized("the token's user no longer exists")
    session.commit()
    TOKEN_REFRESHES.inc()
    return services().tokens.rotated_pair(user, claims, rotated_at)


def _rotated_within_leeway(session, claims: dict, now: datetime, leeway: timedelta
                           ) -> datetime | None:
    """When the token was rotated, if that was no longer than `leeway` ago."""
    used = session.get(RevokedToken, claims["jti"])
    if not leeway or used is None or not used.rotated or used.revoked_at < now - leeway:
        return None
    return used.revoked_at


def logout(token_info, body=None):
    revocations = [token_info["claims"]]
    if body and "refresh_token" in body:
        revocations.append(_own_refresh_claims(body["refresh_token"], token_info["sub"]))
    session = db()
    for claims in revocations:
        revoke_token(session, claims)
    session.commit()
    return None, 204


def _own_refresh_claims(token: str, user_id: int) -> dict:
    # An expired refresh token may still be handed back; it is revoked all the same.
    try:
        claims = services().tokens.decode(token, REFRESH, verify_exp=False)
    except InvalidToken as exc:
        raise api_problem(400, f"refresh_token: {exc}") from None
    if int(claims["sub"]) != user_id:
        raise api_problem(400, "refresh_token: the token belongs to another user")
    return claims
