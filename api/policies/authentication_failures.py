"""Callers refused at authentication, limited before their token is looked up.

The security layer answers a missing, malformed, expired or revoked token
with 401, and for some of them (a refresh token, an access token the
worker's token view cannot vouch for) only after a database lookup. Left
alone, a caller could send such requests as fast as the server answers
them: no other budget counts a request whose caller is unknown.

Here, before the security layer, each secured operation's request is keyed
by its credential: a bearer token signed by this service (checked by its
signature alone, as the token service keeps it) counts for itself, anything
else for the caller's address (IPv6 by its /64). A 401 spends that key's
`x-rate-limits.authentication` quota; once it is used up, the request is
answered 429 at once. Each request is counted before its token is looked
up and given back when it was no failure, so that requests sent at once
cannot all pass a check made before any of them failed. A signed token is
its own key so that a neighbour behind the same address, with a token that
works, is never refused for someone else's failures, and a revoked token
replayed a thousand times is refused after the quota.
"""

from connexion.exceptions import ProblemException

from api.contract.spec_policy import OperationPolicy, routed_operation
from api.identity.tokens import InvalidToken
from api.policies.rate_limits import RateLimiter, address_key, remember
from api.runtime.request_context import services_of

BEARER = b"bearer "


class AuthenticationFailureLimit:
    def __init__(self, app, policies: dict[str, OperationPolicy]):
        self.app = app
        self.quotas = {operation_id: policy.authentication_quota
                       for operation_id, policy in policies.items()
                       if policy.authentication_quota is not None}

    async def __call__(self, scope, receive, send):
        quota = self.quotas.get(routed_operation(scope)) if scope["type"] == "http" else None
        if quota is None:
            return await self.app(scope, receive, send)
        limiter: RateLimiter = scope["state"]["rate_limiter"]
        who = credential(scope, limiter)
        # Counted as a failure before the lookup, given back unless it was
        # one: requests at once cannot all pass a check made before any failed.
        verdict = await limiter.hit(quota, who)
        failed = not verdict.allowed
        try:
            if failed:
                raise verdict.problem()
            await self.app(scope, receive, send)
        except ProblemException as exc:
            failed = exc.status_code == 401
            if failed:  # the answer says what is left of the budget it spent
                remember(scope, [verdict])
            raise
        finally:
            if not failed:
                await limiter.refund(quota, who)


def credential(scope, limiter: RateLimiter) -> str:
    """The key a request's authentication failures count against."""
    token = _bearer_token(scope)
    if token is not None:
        try:
            claims = services_of(scope).tokens.signed_claims(token)
        except InvalidToken:
            pass
        else:
            return f"token:{claims['jti']}"
    return f"ip:{address_key((scope.get('client') or ('unknown',))[0], limiter.ipv6_prefix)}"


def _bearer_token(scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:len(BEARER)].lower() == BEARER:
                return value[len(BEARER):].strip().decode("latin-1")
            return None
    return None


