"""What the spec declares beyond routing and validation, per operationId:
its rate-limit quotas (`x-rate-limits`, `x-rate-limit`), whether a create
takes an `Idempotency-Key`, and its deprecation (`deprecated`,
`x-deprecation`). Read once at start; `stores-api openapi check` runs
`policy_problems` so a spec that declares these badly never ships."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from connexion.middleware.abstract import ROUTING_CONTEXT

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = "#/components/parameters/IdempotencyKey"
READ_METHODS = ("get", "head")
PER = ("caller", "address", "username")
COUNTS = ("requests", "failures")


@dataclass(frozen=True)
class Quota:
    name: str
    quota: int
    window: int  # seconds
    per: str  # caller (its user, or its address without a token), address or username
    counts: str = "requests"  # or "failures": only refused credentials count


@dataclass(frozen=True)
class Deprecation:
    since: datetime
    sunset: datetime
    successor: str  # a path under the API's base, with {path parameters}


@dataclass(frozen=True)
class OperationPolicy:
    operation_id: str
    quotas: tuple[Quota, ...] = ()
    idempotent_creates: bool = False
    deprecation: Deprecation | None = None

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


def operation_policies(spec: dict, key=lambda operation: operation["operationId"]
                       ) -> dict[str, OperationPolicy]:
    """Each operation's policy, by `key(operation)`: its operationId unless told."""
    problems = policy_problems(spec)
    if problems:
        raise ValueError("; ".join(problems))
    declared = spec.get("x-rate-limits", {})
    quotas = {name: Quota(name=name, **{k: v for k, v in value.items()})
              for name, value in declared.get("policies", {}).items()}
    policies = {}
    for method, operation in _operations(spec):
        names = operation.get("x-rate-limit", _default_quotas(declared, method))
        policies[key(operation)] = OperationPolicy(
            operation_id=operation["operationId"],
            quotas=tuple(quotas[name] for name in names),
            idempotent_creates=_takes_idempotency_key(operation),
            deprecation=_deprecation(operation.get("x-deprecation")),
        )
    return policies


def policy_problems(spec: dict) -> list[str]:
    declared = spec.get("x-rate-limits", {})
    policies = declared.get("policies", {})
    problems = []
    for name, value in policies.items():
        if set(value) - {"quota", "window", "per", "counts"} \
                or not all(isinstance(value.get(k), int) and value[k] > 0
                           for k in ("quota", "window")) \
                or value.get("per") not in PER or value.get("counts", "requests") not in COUNTS:
            problems.append(f"x-rate-limits policy {name} needs quota, window (positive "
                            f"integers), per ({', '.join(PER)}) and optional counts")
    for method, operation in _operations(spec):
        operation_id = operation["operationId"]
        names = operation.get("x-rate-limit", _default_quotas(declared, method))
        unknown = [name for name in names if name not in policies]
        if unknown:
            problems.append(f"{operation_id}: x-rate-limit names no policy {unknown}")
        if names and "429" not in operation.get("responses", {}):
            problems.append(f"{operation_id} is rate limited but does not document 429")
        if bool(operation.get("deprecated")) != ("x-deprecation" in operation):
            problems.append(f"{operation_id}: deprecated and x-deprecation go together")
        elif "x-deprecation" in operation:
            try:
                _deprecation(operation["x-deprecation"])
            except (KeyError, TypeError, ValueError):
                problems.append(f"{operation_id}: x-deprecation needs since and sunset "
                                "(YYYY-MM-DD) and a successor path")
    return problems


def _operations(spec: dict):
    for item in spec["paths"].values():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                yield method, operation


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
