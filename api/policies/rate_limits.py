"""Rate limits from the spec, counted in this process or, by the `limits`
package, in Redis.

Each quota is a fixed window of `window` seconds. The counters live in this
process's memory (api/policies/rate_limit_windows.py), or in Redis when
RATE_LIMIT_STORAGE_URL names one, so that every worker of every host spends
one budget.

Redis down: the service keeps serving and logs it, counting in this process's
memory until Redis answers again (tried every few seconds). Refusing every
request with 503 would turn a cache outage into a full outage, and serving
without any limit would hand a password guesser the window; per-process
counters keep each worker's budget while Redis is away.

RATE_LIMIT_SCALE multiplies every quota: test servers that replay thousands of
requests from one address raise it; production leaves it at 1.
"""

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from starlette.datastructures import MutableHeaders

from api.contract.problems import api_problem
from api.contract.spec_policy import OperationPolicy, Quota, routed_operation
from api.policies.rate_limit_windows import LocalWindows
from api.runtime.metrics import RATE_LIMIT_REFUSALS

logger = logging.getLogger(__name__)
RETRY_REDIS_SECONDS = 5
# Quotas counted per what a request's body names: only its handler can key them.
NAMED_IN_THE_BODY = ("username", "device", "known-devices")
# A login from a known device spends these instead of the username's own.
KNOWN_DEVICES_ONLY = ("device", "known-devices")
REDIS_TIMEOUT_SECONDS = 0.5
# The verdicts of the quotas a request spent, kept in its state where they
# are counted (the middleware, a login's handler, the authentication-failure
# limit) for RateLimitHeaders to answer with, whatever answers.
VERDICTS = "rate_limit_verdicts"


@dataclass(frozen=True)
class Verdict:
    quota: Quota
    limit: int
    allowed: bool
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": f'"{self.quota.name}";q={self.limit};w={self.quota.window}',
            "RateLimit": f'"{self.quota.name}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_seconds))
        return headers

    def problem(self):
        RATE_LIMIT_REFUSALS.labels(self.quota.name).inc()
        return api_problem(
            429, f"the {self.quota.name} rate limit of {self.limit} per {self.quota.window} "
                 "seconds is used up", headers=self.headers())


class RateLimiter:
    """Quotas counted per key, in Redis or in memory (see the module's doc)."""

    def __init__(self, policies: dict[str, OperationPolicy], storage_url: str | None = None,
                 scale: float = 1.0, key_prefix: str = "stores-api", ipv6_prefix: int = 64):
        self.policies = policies
        self.storage_url = storage_url
        self.scale = scale
        self.key_prefix = key_prefix
        self.ipv6_prefix = ipv6_prefix
        self._shared = None
        self._local = LocalWindows()
        self._redis_down_until = 0.0

    def _shared_strategy(self):
        # Built on first use, inside the serving event loop the storage belongs to.
        if self._shared is None and self.storage_url:
            self._shared = FixedWindowRateLimiter(RedisStorage(
                self.storage_url.replace("redis", "async+redis", 1)
                if self.storage_url.startswith(("redis://", "rediss://"))
                else self.storage_url,
                implementation="redispy", wrap_exceptions=True, key_prefix=self.key_prefix,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS))
        return self._shared

    async def storage_answers(self) -> bool | None:
        """Whether the shared storage answers a ping; None without one."""
        shared = self._shared_strategy()
        if shared is None:
            return None
        try:
            return bool(await shared.storage.check())
        except Exception:  # any failure is the answer: it does not
            return False

    def limit(self, quota: Quota) -> int:
        return max(1, math.floor(quota.quota * self.scale))

    async def hit(self, quota: Quota, who: str) -> Verdict:
        return await self._count(quota, who, hit=True)

    async def peek(self, quota: Quota, who: str) -> Verdict:
        """The verdict the next hit would get, without spending anything."""
        return await self._count(quota, who, hit=False)

    async def _count(self, quota: Quota, who: str, *, hit: bool) -> Verdict:
        limit = self.limit(quota)
        shared = self._shared_strategy()
        if shared is not None and time.monotonic() >= self._redis_down_until:
            try:
                item = RateLimitItemPerSecond(limit, quota.window)
                return await self._shared_verdict(shared, quota, item, who, hit)
            except StorageError as exc:
                self._redis_down_until = time.monotonic() + RETRY_REDIS_SECONDS
                logger.warning("rate-limit storage unavailable (%s): counting in this "
                               "process for %s s", exc.storage_error.__class__.__name__,
                               RETRY_REDIS_SECONDS)
        count = (self._local.hit if hit else self._local.peek)(
            (quota.name, who, limit, quota.window), limit, quota.window)
        return Verdict(quota, limit, count.allowed, count.remaining, count.reset_seconds)

    async def refund(self, quota: Quota, who: str) -> None:
        """Take back one hit of `who` (a reservation that was not used up)."""
        shared = self._shared_strategy()
        if shared is not None and time.monotonic() >= self._redis_down_until:
            try:
                item = RateLimitItemPerSecond(self.limit(quota), quota.window)
                await shared.hit(item, quota.name, who, cost=-1)
                return
            except StorageError:
                pass  # counted here meanwhile, if at all: refunded here
        self._local.refund((quota.name, who, self.limit(quota), quota.window))

    @staticmethod
    async def _shared_verdict(strategy, quota, item, who, hit) -> Verdict:
        allowed = await (strategy.hit(item, quota.name, who) if hit
                         else strategy.test(item, quota.name, who))
        stats = await strategy.get_window_stats(item, quota.name, who)
        # Wall-clock seconds (the store's expiry against this host's clock):
        # a clock stepped back between the two would promise more than a window.
        reset = min(quota.window, max(0, math.ceil(stats.reset_time - time.time())))
        return Verdict(quota, item.amount, allowed, stats.remaining, reset)


def caller(scope, quota: Quota, username: str | None = None, device: str | None = None) -> str:
    """Whose budget a request spends: see `Quota.per`."""
    if quota.per == "username":
        return f"user:{(username or '').casefold()}"
    if quota.per == "device":
        return f"device:{device}"
    if quota.per == "known-devices":
        return f"devices-of:{(username or '').casefold()}"
    user_id = scope.get("state", {}).get("user_id")
    if quota.per == "caller" and user_id is not None:
        return f"id:{user_id}"
    limiter: RateLimiter = scope["state"]["rate_limiter"]
    return f"ip:{address_key((scope.get('client') or ('unknown',))[0], limiter.ipv6_prefix)}"


def address_key(address: str, ipv6_prefix: int) -> str:
    """An IPv4 address as it is; an IPv6 one as its network of `ipv6_prefix`
    bits (an IPv4-mapped one as the IPv4 address), so that one host's block
    of addresses spends one budget."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # no zone id
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network((ip, ipv6_prefix), strict=False))


def most_pressing(verdicts: list[Verdict]) -> Verdict:
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        return max(refused, key=lambda v: v.reset_seconds)
    return min(verdicts, key=lambda v: v.remaining)


def remember(scope, verdicts: list[Verdict]) -> None:
    scope["state"].setdefault(VERDICTS, []).extend(verdicts)


class RateLimitHeaders:
    """Outside the exception layer: every answer of a request that spent a
    quota carries the tightest one in `RateLimit-Policy` and `RateLimit`,
    its problems included (a 404 or a 400 raised in a handler or a
    validator never passes back through the layers that counted)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start" and \
                    (verdicts := scope["state"].get(VERDICTS)):
                headers = MutableHeaders(scope=message)
                for name, value in most_pressing(verdicts).headers().items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimitMiddleware:
    """After the security layer (so a token's user is known): spends the
    operation's request quotas and answers 429 when one is used up; what
    was spent is answered by RateLimitHeaders."""

    def __init__(self, app, policies: dict[str, OperationPolicy]):
        self.app = app
        # Quotas keyed by what the body names are the handler's (CredentialBudget).
        self.quotas = {operation_id: quotas for operation_id, policy in policies.items()
                       if (quotas := tuple(q for q in policy.request_quotas
                                           if q.per not in NAMED_IN_THE_BODY))}

    async def __call__(self, scope, receive, send):
        operation_id = routed_operation(scope)
        quotas = self.quotas.get(operation_id) if scope["type"] == "http" else None
        if not quotas:
            return await self.app(scope, receive, send)
        limiter: RateLimiter = scope["state"]["rate_limiter"]
        verdicts = [await limiter.hit(q, caller(scope, q)) for q in quotas]
        remember(scope, verdicts)
        verdict = most_pressing(verdicts)
        if not verdict.allowed:
            raise verdict.problem()
        await self.app(scope, receive, send)


class CredentialBudget:
    """The quotas of a login that its handler counts, knowing the username:
    requests per username or device, and failures. `reserve` counts the
    attempt before the work (as a request and as a failure), refusing with
    429 when a quota is used up; `release` gives the failure back when the
    attempt succeeded. Counted first, so concurrent attempts cannot all pass
    a check made before any of them failed.

    A login from a known device (api/identity/device_tokens.py) spends its
    device's quotas and those of the username's known devices (`per:
    device`, `per: known-devices`); any other, the username's (`per:
    username`); either, the address's failure quota. A guesser, who has no
    device token, cannot spend what the real user's devices log in with."""

    def __init__(self, scope, username: str, device: str | None = None):
        self.scope = scope
        self.limiter: RateLimiter = scope["state"]["rate_limiter"]
        policy = self.limiter.policies[routed_operation(scope)]
        self.quotas = [quota for quota in policy.quotas
                       if (quota.per in NAMED_IN_THE_BODY or quota.counts == "failures")
                       and _spent_by(quota, device)]
        self.keys = [caller(scope, quota, username, device) for quota in self.quotas]

    async def reserve(self) -> None:
        """Counts the attempt; 429 when a quota is used up."""
        if not self.quotas:
            return
        verdicts = [await self.limiter.hit(quota, key)
                    for quota, key in zip(self.quotas, self.keys, strict=True)]
        remember(self.scope, verdicts)
        verdict = most_pressing(verdicts)
        if not verdict.allowed:
            await self._give_back()  # a refused attempt is no failure of the password
            raise verdict.problem()

    async def release(self) -> None:
        """Give back what was reserved as a failure (requests stay counted);
        the answer no longer reports those quotas as spent."""
        await self._give_back()
        state = self.scope["state"]
        state[VERDICTS] = [v for v in state.get(VERDICTS, [])
                           if v.quota.counts != "failures" or v.quota not in self.quotas]

    async def _give_back(self) -> None:
        for quota, key in zip(self.quotas, self.keys, strict=True):
            if quota.counts == "failures":
                await self.limiter.refund(quota, key)


def _spent_by(quota: Quota, device: str | None) -> bool:
    """Whether a login from `device` (None: an unknown one) spends `quota`."""
    if quota.per in KNOWN_DEVICES_ONLY:
        return device is not None
    if quota.per == "username":
        return device is None
    return True
