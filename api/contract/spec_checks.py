"""What `stores-api openapi check` asks of the spec beyond OpenAPI itself:
public operationIds, each resolving to a handler, no handler left unused,
the policies of api/contract/spec_policy.py well declared, bounds on
every string, array and integer (api/contract/spec_bounds.py), and every
status the service may answer declared (api/contract/declared_statuses.py)."""

import importlib
import inspect
import re

from api.contract.declared_statuses import undeclared_statuses
from api.contract.resolver import handler_name
from api.contract.scaffold import handler_function, is_stub
from api.contract.spec_bounds import unbounded
from api.contract.spec_policy import policy_problems
from api.contract.spec_walk import operations_of

PUBLIC_OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def spec_problems(spec: dict) -> list[str]:
    """Every problem found, as a line for the command to print."""
    return (badly_named_operations(spec) + unresolved_operations(spec)
            + stubbed_operations(spec) + unused_handlers(spec) + policy_problems(spec)
            + unbounded(spec) + undeclared_statuses(operations_of(spec)))


def operations(spec: dict) -> list[dict]:
    return [operation for _path, _method, operation in operations_of(spec)
            if "operationId" in operation]


def operation_ids(spec: dict) -> list[str]:
    return [operation["operationId"] for operation in operations(spec)]


def handler_names(spec: dict) -> list[str]:
    return [handler_name(op.get("x-openapi-router-controller", ""), op["operationId"])
            for op in operations(spec)]


def badly_named_operations(spec: dict) -> list[str]:
    """operationIds are public, stable camelCase names, each used once."""
    ids = operation_ids(spec)
    failures = [f"operationId {id_} is not camelCase" for id_ in ids
                if not PUBLIC_OPERATION_ID.match(id_)]
    failures += [f"operationId {id_} is used twice" for id_ in sorted(set(ids))
                 if ids.count(id_) > 1]
    return failures


def unresolved_operations(spec: dict) -> list[str]:
    failures = []
    for operation_id, handler in zip(operation_ids(spec), handler_names(spec), strict=True):
        function = handler_function(handler)
        if function is None:
            failures.append(f"operationId {operation_id} does not resolve to a function "
                            f"({handler}): `stores-api openapi scaffold` writes its stub")
        elif not callable(function):
            failures.append(f"operationId {operation_id} is not callable ({handler})")
    return failures


def stubbed_operations(spec: dict) -> list[str]:
    """Handlers the scaffold wrote that still answer 501."""
    failures = []
    for operation_id, handler in zip(operation_ids(spec), handler_names(spec), strict=True):
        if is_stub(handler_function(handler)):
            failures.append(f"operationId {operation_id} is a stub ({handler}): fill it in")
    return failures


def unused_handlers(spec: dict) -> list[str]:
    """Public functions of handler modules that no operation uses."""
    used = set(handler_names(spec))
    failures = []
    for module_name in sorted({op.rpartition(".")[0] for op in used}):
        module = importlib.import_module(module_name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            qualified = f"{module_name}.{name}"
            if function.__module__ == module_name and not name.startswith("_") \
                    and qualified not in used:
                failures.append(f"{qualified} is public but no operation of the spec uses it")
    return failures

