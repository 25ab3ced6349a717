"""Path-level parameters, folded into each operation before Connexion reads
the spec.

Connexion adds a path's shared parameters to the operation's own list in
place, once for each of its layers that builds the operation: `getItem`'s
`item_id` was validated six times per request. `path_parameters_in_operations`
folds them into each operation before Connexion reads the spec, with
OpenAPI's rule that an operation's parameter of the same name and location
wins.
"""

import copy

from api.contract.spec_walk import Operations, walked


def path_parameters_in_operations(spec: dict, operations: Operations | None = None) -> dict:
    """A copy of `spec` where each path's shared parameters are listed in each
    of its operations instead, unless the operation has its own of that name
    and location."""
    spec_copy = copy.deepcopy(spec)
    for path, method, _operation in walked(spec, operations):
        shared = spec_copy["paths"][path].get("parameters", [])
        own = spec_copy["paths"][path][method].setdefault("parameters", [])
        named = {_name_and_location(spec_copy, parameter) for parameter in own}
        own.extend(copy.deepcopy(parameter) for parameter in shared
                   if _name_and_location(spec_copy, parameter) not in named)
    for item in spec_copy["paths"].values():
        item.pop("parameters", None)
    return spec_copy


def _name_and_location(spec: dict, parameter: dict) -> tuple[str, str]:
    while "$ref" in parameter:  # local references only: the spec has no others
        node = spec
        for part in parameter["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        parameter = node
    return parameter["name"], parameter["in"]
