"""What the spec declares beyond routing and validation, per operationId:
its rate-limit quotas (`x-rate-limits`, `x-rate-limit`), whether a create
takes an `Idempotency-Key`, its deprecation (`deprecated`, `x-deprecation`)
and the role in a store it needs (`x-store-role`). Read once at start;
`stores-api openapi check` runs `policy_problems` so a spec that declares
these badly never ships."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from connexion.middleware.abstract import ROUTING_CONTEXT

from api.contract.spec_walk import Operations, walked

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = "#/components/parameters/IdempotencyKey"
READ_METHODS = ("get", "head")
PER = ("caller", "address", "username", "device", "known-devices", "credential")
COUNTS = ("requests", "failures")
# The longest window: a `Retry-After` is never further off, and the spec's
# RetryAfter header declares this maximum.
MAX_WINDOW_SECONDS = 86_400
# Where an operation finds the store it changes: a path or body id, or the
# store of the item or tag its path names.
STORE_SOURCES = ("path.store_id", "body.store_id", "item", "tag")
STORE_ROLES = ("editor", "owner")
# The paths whose operations act on one store's things: every one of them
# that is not a read must declare the role it needs (creating a store does
# not: POST /stores is on /stores itself).
STORE_SCOPED_PATHS = ("/stores/{store_id}", "/items", "/tags")
# What an operation's description says of who may call it, by role and
# whether a member may act on their own membership; checked against the
# spec, so the docs and generated clients cannot tell another story.
WHO_MAY = {
    ("editor", False): "**Who may:** the store's owners and editors, and admins.",
    ("owner", False): "**Who may:** the store's owners and admins, with a fresh token.",
    ("owner", True): "**Who may:** the store's owners and admins, with a fresh token; "
                     "any member, with a fresh token, to leave.",
}
FORBIDDEN_RESPONSE = {"editor": "#/components/responses/NotStoreEditor",
                      "owner": "#/components/responses/NotStoreOwner"}


@dataclass(frozen=True)
class Quota:
    name: str
    quota: int
    window: int  # seconds
    # caller (its user, or its address without a token), address, username,
    # device, known-devices (of a username, for logins from them), or
    # credential (a token of ours itself, else the address)
    per: str
    counts: str = "requests"  # or "failures": only refused credentials count


@dataclass(frozen=True)
class Deprecation:
    since: datetime
    sunset: datetime
    successor: str  # a path under the API's base, with {path parameters}


@dataclass(frozen=True)
class StoreRole:
    """`x-store-role`: the role in a store an operation needs.

    `store` says where the store is found (STORE_SOURCES); `role` is the
    least role that may (owners may do what editors may); `self_parameter`,
    when given, names the path parameter with which a member acts on their
    own membership, which any member may.
    """

    store: str
    role: str
    self_parameter: str | None = None


@dataclass(frozen=True)
class OperationPolicy:
    operation_id: str
    # `GET`, and the path as the spec writes it (`/stores/{store_id}`): what
    # metrics, traces and logs name a request by, never the path it was sent to.
    method: str = ""
    path: str = ""
    quotas: tuple[Quota, ...] = ()
    idempotent_creates: bool = False
    deprecation: Deprecation | None = None
    store_role: StoreRole | None = None
    # The quota that callers refused at authentication spend (x-rate-limits'
    # `authentication`), on an operation that needs a token.
    authentication_quota: Quota | None = None

    @property
    def request_quotas(self) -> tuple[Quota, ...]:
        return tuple(q for q in self.quotas if q.counts == "requests")

    @property
    def failure_quotas(self) -> tuple[Quota, ...]:
        return tuple(q for q in self.quotas if q.counts == "failures")


def routed_operation(scope) -> str | None:
    """The operation Connexion routed this request to, by its handler's name
    (`api.items.create_item`): the key the middlewares find policies by."""
    return scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")


def operation_policies(spec: dict, key=lambda operation: operation["operationId"],
                       operations: Operations | None = None) -> dict[str, OperationPolicy]:
    """Each operation's policy, by `key(operation)`: its operationId unless told."""
    operations = walked(spec, operations)
    problems = policy_problems(spec, operations)
    if problems:
        raise ValueError("; ".join(problems))
    declared = spec.get("x-rate-limits", {})
    quotas = {name: Quota(name=name, **{k: v for k, v in value.items()})
              for name, value in declared.get("policies", {}).items()}
    policies = {}
    failures = quotas.get(declared.get("authentication"))
    for path, method, operation in operations:
        names = operation.get("x-rate-limit", _default_quotas(declared, method))
        secured = operation.get("security", spec.get("security", [])) not in ([], [{}])
        policies[key(operation)] = OperationPolicy(
            operation_id=operation["operationId"],
            method=method.upper(),
            path=path,
            quotas=tuple(quotas[name] for name in names),
            idempotent_creates=_takes_idempotency_key(operation),
            deprecation=_deprecation(operation.get("x-deprecation")),
            store_role=_store_role(operation.get("x-store-role")),
            authentication_quota=failures if secured else None,
        )
    return policies


RATE_LIMIT_HEADERS = {"RateLimit", "RateLimit-Policy"}


def policy_problems(spec: dict, operations: Operations | None = None) -> list[str]:
    declared = spec.get("x-rate-limits", {})
    policies = declared.get("policies", {})
    problems = []
    authentication = declared.get("authentication")
    if authentication is not None and policies.get(authentication, {}).get("counts") != "failures":
        problems.append("x-rate-limits authentication must name a policy that counts failures")
    for name, value in policies.items():
        if set(value) - {"quota", "window", "per", "counts"} \
                or not all(isinstance(value.get(k), int) and value[k] > 0
                           for k in ("quota", "window")) \
                or value.get("per") not in PER or value.get("counts", "requests") not in COUNTS:
            problems.append(f"x-rate-limits policy {name} needs quota, window (positive "
                            f"integers), per ({', '.join(PER)}) and optional counts")
        elif value["window"] > MAX_WINDOW_SECONDS:
            problems.append(f"x-rate-limits policy {name}: a window of at most "
                            f"{MAX_WINDOW_SECONDS} seconds, the longest Retry-After declares")
    for path, method, operation in walked(spec, operations):
        operation_id = operation["operationId"]
        problems += store_role_problems(path, method, operation)
        names = operation.get("x-rate-limit", _default_quotas(declared, method))
        unknown = [name for name in names if name not in policies]
        if unknown:
            problems.append(f"{operation_id}: x-rate-limit names no policy {unknown}")
        if names and "429" not in operation.get("responses", {}):
            problems.append(f"{operation_id} is rate limited but does not document 429")
        if names:
            problems += _undeclared_rate_limit_headers(spec, operation)
        if bool(operation.get("deprecated")) != ("x-deprecation" in operation):
            problems.append(f"{operation_id}: deprecated and x-deprecation go together")
        elif "x-deprecation" in operation:
            try:
                _deprecation(operation["x-deprecation"])
            except (KeyError, TypeError, ValueError):
                problems.append(f"{operation_id}: x-deprecation needs since and sunset "
                                "(YYYY-MM-DD) and a successor path")
    return problems


def _undeclared_rate_limit_headers(spec: dict, operation: dict) -> list[str]:
    """A limited operation's every answer carries the rate-limit headers
    (api/policies/rate_limits.py): each response says so, for the clients
    generated from it."""
    missing = []
    for status, response in operation.get("responses", {}).items():
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        if not RATE_LIMIT_HEADERS <= set(response.get("headers", {})):
            missing.append(status)
    return [f"{operation['operationId']} is rate limited but its answers {', '.join(missing)} "
            f"do not declare {' and '.join(sorted(RATE_LIMIT_HEADERS))}"] if missing else []


def store_role_problems(path: str, method: str, operation: dict) -> list[str]:
    """What is wrong with an operation's `x-store-role`, or its lack of one."""
    operation_id = operation["operationId"]
    declared = operation.get("x-store-role")
    if declared is None:
        if method not in READ_METHODS and path.startswith(STORE_SCOPED_PATHS):
            return [f"{operation_id} changes a store's things but declares no x-store-role"]
        return []
    try:
        role = _store_role(declared)
    except (KeyError, TypeError, ValueError):
        return [f"{operation_id}: x-store-role needs store ({', '.join(STORE_SOURCES)}), "
                f"role ({', '.join(STORE_ROLES)}) and, beside the owner role, optionally "
                f"self (path.<parameter>)"]
    problems = []
    if role.self_parameter and "{" + role.self_parameter + "}" not in path:
        problems.append(f"{operation_id}: x-store-role's self names no parameter of {path}")
    if role.store.startswith("path.") and "{store_id}" not in path \
            or role.store in ("item", "tag") and "{" + role.store + "_id}" not in path:
        problems.append(f"{operation_id}: x-store-role's store {role.store} is not in {path}")
    who = WHO_MAY[role.role, role.self_parameter is not None]
    if who not in operation.get("description", ""):
        problems.append(f"{operation_id}: its description must say who may: {who}")
    forbidden = operation.get("responses", {}).get("403", {}).get("$ref")
    if forbidden != FORBIDDEN_RESPONSE[role.role]:
        problems.append(f"{operation_id}: its 403 must be {FORBIDDEN_RESPONSE[role.role]}")
    if role.role == "owner" and operation.get("security") != [{"accessToken": ["fresh"]}]:
        problems.append(f"{operation_id}: the owner role goes with a fresh token "
                        "(security: accessToken: [fresh])")
    return problems


def _store_role(declared: dict | None) -> StoreRole | None:
    if declared is None:
        return None
    if set(declared) - {"store", "role", "self"}:
        raise ValueError("unknown keys")
    if declared["store"] not in STORE_SOURCES or declared["role"] not in STORE_ROLES:
        raise ValueError("unknown store or role")
    self_parameter = declared.get("self")
    if self_parameter is not None:
        # What a member may do to their own membership beyond an owner's rule.
        if not str(self_parameter).startswith("path.") or declared["role"] != "owner":
            raise ValueError("self is a path parameter, beside the owner role")
        self_parameter = self_parameter.removeprefix("path.")
    return StoreRole(declared["store"], declared["role"], self_parameter)


def _default_quotas(declared: dict, method: str) -> list[str]:
    default = declared.get("default", {})
    name = default.get("read" if method in READ_METHODS else "write")
    return [name] if name else []


def _takes_idempotency_key(operation: dict) -> bool:
    return any(parameter.get("$ref") == IDEMPOTENCY_PARAMETER
               for parameter in operation.get("parameters", []))


def _deprecation(declared: dict | None) -> Deprecation | None:
    if declared is None:
        return None
    if not str(declared["successor"]).startswith("/"):
        raise ValueError("successor must be a path")
    return Deprecation(since=_day(declared["since"]), sunset=_day(declared["sunset"]),
                       successor=declared["successor"])


def _day(value) -> datetime:
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
