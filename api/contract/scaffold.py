"""`stores-api openapi scaffold`: the spec-first habit as one command.

For every operation of the spec whose handler does not exist yet, a stub is
appended to the module its `x-openapi-router-controller` names (the module
is created when it is new): named as api/contract/resolver.py resolves the
operationId, taking the arguments Connexion will pass (the path's and the
query's parameters by their Python names, and `body`), and answering 501
problem+json. `openapi check` lists the stubs left, and fails while one is.
"""

import importlib
import importlib.util
import keyword
from dataclasses import dataclass
from pathlib import Path

from connexion.decorators.parameter import pythonic

from api.contract.problems import api_problem
from api.contract.resolver import handler_name
from api.contract.spec_walk import operations_of

STUB_IMPORT = "from api.contract.scaffold import not_implemented, stub"


def stub(handler):
    """Marks a handler the scaffold wrote and nobody has filled in yet."""
    handler.__stub__ = True
    return handler


def not_implemented(operation_id: str):
    return api_problem(501, f"{operation_id} is not implemented yet")


def is_stub(handler) -> bool:
    return getattr(handler, "__stub__", False)


@dataclass(frozen=True)
class Stub:
    module: str
    function: str
    operation_id: str
    arguments: list[str]

    def source(self) -> str:
        return (f"\n\n@stub\ndef {self.function}({', '.join(self.arguments)}):\n"
                f'    """{self.operation_id}: written by `stores-api openapi scaffold`;'
                f' fill it in."""\n'
                f'    raise not_implemented("{self.operation_id}")\n')


def missing_handlers(document: dict) -> list[Stub]:
    """A stub for each operation whose handler cannot be found."""
    stubs = []
    for path, _method, operation in operations_of(document):
        handler = handler_name(operation.get("x-openapi-router-controller", ""),
                               operation["operationId"])
        if callable(handler_function(handler)):
            continue
        module_name, _, function = handler.rpartition(".")
        if not all(_identifier(part) for part in handler.split(".")):
            # Written into source code: nothing but Python names gets there.
            raise ValueError(f"{handler!r} is no module.function to write a stub as")
        stubs.append(Stub(module_name, function, operation["operationId"],
                          _arguments(document, path, operation)))
    return stubs


def _identifier(name: str) -> bool:
    return name.isidentifier() and name.isascii() and not keyword.iskeyword(name)


def write(stubs: list[Stub], root: Path) -> list[Path]:
    """Each stub appended to its module's file under `root`; the files written."""
    written = []
    for stub_ in stubs:
        path = _module_file(stub_.module, root)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f'"""Handlers of {stub_.module}."""\n\n{STUB_IMPORT}\n')
        elif STUB_IMPORT not in (text := path.read_text()):
            path.write_text(_with_import(text))
        with path.open("a") as module:
            module.write(stub_.source())
        written.append(path)
    return written


def handler_function(handler: str):
    """What `module.function` names, or None."""
    module_name, _, function_name = handler.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError, ValueError):
        return None


def _module_file(module_name: str, root: Path) -> Path:
    """The module's file, or where a new one goes under `root`."""
    try:
        spec = importlib.util.find_spec(module_name)
    except ImportError:  # its package does not exist either
        spec = None
    if spec is not None and spec.origin:
        return Path(spec.origin)
    return root.joinpath(*module_name.split(".")).with_suffix(".py")


def _with_import(text: str) -> str:
    """The stubs' import after the module's docstring and imports."""
    lines = text.splitlines(keepends=True)
    last_import = max((i for i, line in enumerate(lines)
                       if line.startswith(("import ", "from "))), default=None)
    at = last_import + 1 if last_import is not None else 0
    return "".join(lines[:at] + [STUB_IMPORT + "\n"] + lines[at:])


def _arguments(document: dict, path: str, operation: dict) -> list[str]:
    """What Connexion passes: path parameters, then the query's (None when
    left out and without a default), then the body."""
    parameters = [_resolved(document, p) for p in
                  document["paths"][path].get("parameters", []) + operation.get("parameters", [])]
    by_place = {}
    for parameter in parameters:  # the operation's own win over the path's
        by_place[(parameter["name"], parameter["in"])] = parameter
    required = [pythonic(p["name"]) for p in by_place.values() if p["in"] == "path"]
    optional = [f"{pythonic(p['name'])}=None" for p in by_place.values() if p["in"] == "query"]
    if "requestBody" in operation:
        body = "body" if operation["requestBody"].get("required") else "body=None"
        (required if body == "body" else optional).append(body)
    return required + optional


def _resolved(document: dict, node: dict) -> dict:
    """A parameter as written, or the one its local `$ref` points at."""
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
