"""Bearer token checks for Connexion's security layer.

The spec names these functions (`x-tokenInfoFunc`, `x-bearerInfoFunc`); Connexion
calls them for every secured operation and compares the scopes returned here with
the scopes the operation requires (`admin`, `fresh`), answering 401 or 403 itself.

They run on the event loop. Whether an access token, its chain or its user is
gone is answered by the worker's token view (api/identity/token_view.py) while it is
current; otherwise, and for refresh tokens, by the database, in one of the
handler threads (api/runtime/handler_threads.py) so as not to block every other
request on this worker.
"""

import functools

from connexion.exceptions import OAuthProblem, ProblemException
from connexion.security import (
    SECURITY_HANDLERS,
    AbstractSecurityHandler,
    BearerSecurityHandler,
    OAuthSecurityHandler,
)

from api.contract.problems import unauthorized
from api.identity.tokens import ACCESS, REFRESH, InvalidToken, live_token_user
from api.runtime.request_context import handler_threads_of, services_of

REVOKED = "the token has been revoked or its user no longer exists"


def token_user_gone() -> ProblemException:
    """The 401 of a token whose user was deleted after the token was checked
    (by another host, within its token view's bound): a handler that finds
    the user gone answers as the check would have."""
    return unauthorized(REVOKED)


async def access_token_info(token: str, request) -> dict:
    """Token info for the `accessToken` scheme: a live, unrevoked access token."""
    services = services_of(request.scope)
    claims = _decode(services, token, ACCESS)
    is_admin = _known_user(services.token_view, claims)
    if is_admin is None:
        is_admin = await handler_threads_of(request.scope).run(
            _live_token_user, services, claims, True)
    request.scope["state"]["user_id"] = int(claims["sub"])  # for the access log
    scopes = ["admin"] if is_admin else []
    if claims.get("fresh") is True:
        scopes.append("fresh")
    return {"sub": int(claims["sub"]), "scope": scopes, "claims": claims}


async def refresh_token_info(token: str, request) -> dict:
    """Token info for the `refreshToken` scheme: a refresh token whose chain is alive.

    Whether this very token was already rotated is decided by the refresh
    operation itself, which must claim it atomically.
    """
    services = services_of(request.scope)
    claims = _decode(services, token, REFRESH)
    await handler_threads_of(request.scope).run(_live_token_user, services, claims, False)
    request.scope["state"]["user_id"] = int(claims["sub"])
    return {"sub": int(claims["sub"]), "scope": [], "claims": claims}


def _decode(services, token: str, token_type: str) -> dict:
    try:
        return services.tokens.decode(token, token_type)
    except InvalidToken as exc:
        raise OAuthProblem(detail=str(exc)) from None


def _known_user(view, claims: dict) -> bool | None:
    """The user's `is_admin` from the token view, or None when it cannot say."""
    if view is None or not view.is_current():
        return None
    if view.is_revoked(claims):
        raise OAuthProblem(detail=REVOKED)
    known = view.admins.get(int(claims["sub"]))
    if known is None:
        return None
    return _of_this_generation(known, claims)


def _live_token_user(services, claims: dict, check_jti: bool) -> bool:
    view = services.token_view
    changes = view.user_changes() if view else 0
    with services.database.reads.connect() as connection:
        user = live_token_user(connection, claims, check_jti=check_jti)
    if user is None:
        raise OAuthProblem(detail=REVOKED)
    if view is not None:
        view.remember_user(int(claims["sub"]), user, changes)
    return _of_this_generation(user, claims)


def _of_this_generation(user: tuple[bool, int], claims: dict) -> bool:
    """`is_admin`, when the token was issued in its user's current session
    generation; else its login was ended (`stores-api users revoke-sessions`)."""
    is_admin, generation = user
    if claims.get("gen", 0) != generation:
        raise OAuthProblem(detail=REVOKED)
    return is_admin


class _SignatureOnce:
    """Connexion inspects the token info function's signature on every request
    to decide which arguments to pass; the answer never changes, so it is kept
    (part of the per-request cost connexion issues 2045 and 2077 report). A
    private method of Connexion's: tests/test_connexion_seams.py watches it."""

    _accepts_kwarg = staticmethod(functools.cache(AbstractSecurityHandler._accepts_kwarg))


class OAuthHandler(_SignatureOnce, OAuthSecurityHandler):
    pass


class BearerHandler(_SignatureOnce, BearerSecurityHandler):
    pass


def security_map() -> dict:
    """Connexion's security handlers, with the two this spec uses made cheaper."""
    return {**SECURITY_HANDLERS, "oauth2": OAuthHandler, "bearer": BearerHandler}
