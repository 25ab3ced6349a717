from connexion.context import scope
from sqlalchemy import func, select

from api.accounts import new_user
from api.errors import api_problem, unauthorized
from api.identity.device_tokens import DEVICE_TOKEN_HEADER
from api.persistence import commit_or_409
from api.rate_limits import FailureBudget
from api.representations import location, user_json
from api.request_context import db, services
from api.tokens import REFRESH, InvalidToken, revoke_chain, revoke_token
from models import User


def register(body):
    user = new_user(services().passwords, body["username"], body["password"])
    db().add(user)
    commit_or_409("this username is taken")
    return user_json(user), 201, location("users", user.id)


def login(body):
    username = body["username"]
    device = services().device_tokens.device_of(_header(DEVICE_TOKEN_HEADER), username)
    # The attempt counts as a failure (of the username and the address, or
    # of a known device alone) before the hash is computed, and is given back
    # if the password was right: concurrent guesses cannot all pass the check.
    budget = FailureBudget(scope, username, device)
    headers = budget.reserve()
    try:
        user, ok = _verified_user(username, body["password"])
    except BaseException:
        budget.release()  # no verdict on the password
        raise
    if not ok:
        raise unauthorized("the username or the password is wrong")
    budget.release()
    pair = services().tokens.issue_pair(user, fresh=True)
    return {**pair, "device_token": services().device_tokens.issue(username)}, 200, headers


def _verified_user(username: str, password: str):
    """The user and whether the password is theirs, in the same time whether
    or not the username exists; an older hash is replaced by a current one."""
    session = db()
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok, new_hash = services().passwords.verify(password, user.password_hash if user else None)
    if ok and new_hash:  # an older scheme or cost: store the current one from now on
        user.password_hash = new_hash
        session.commit()
    return user, ok


def _header(name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def refresh_tokens(token_info):
    """Rotate: use the refresh token up, and issue a pair in the same chain."""
    claims = token_info["claims"]
    session = db()
    if not revoke_token(session, claims):
        # Already used: somebody holds a copy. End the whole chain.
        revoke_chain(session, claims, services().settings.refresh_token_lifetime)
        session.commit()
        raise unauthorized(
            "the refresh token was already used; every token of this login is revoked"
        )
    user = session.get(User, token_info["sub"])
    if user is None:  # deleted since the security layer looked
        raise unauthorized("the token's user no longer exists")
    session.commit()
    return services().tokens.issue_pair(user, fresh=False, chain_id=claims["sid"])


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
