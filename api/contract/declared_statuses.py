"""Every status the service answers is one its spec declares (issue 41).

A generated client has a type only for the statuses an operation declares;
Schemathesis calls any other a failure (ST103). Two checks keep them in step:

- `openapi check` (`undeclared_statuses`): every operation declares what the
  service may answer to any request before or beside its handler: 400, 408
  and 431 (the server's bounds on a request's head and body,
  api/serving/), 413 and 414 (api/policies/request_guard.py), 500, 503
  (the database, or the password threads, out of reach); 415 where it takes
  a body; 401 where it is secured, 403 where it needs a token's scope
  (`fresh`, `admin`); 429 where it is limited
  (api/contract/spec_policy.py).
- With response validation on (VALIDATE_RESPONSES: every test, and a
  staging server), `DeclaredStatuses` raises once an answer has gone out
  with a status its operation does not declare. Connexion validates only
  what handlers return: a problem raised in a validator or a handler is
  answered by the exception layer, outside it, and this layer is outside that.
"""

from api.contract.spec_policy import routed_operation

# What any request may be answered with, whatever its operation.
ANY_REQUEST = ("400", "408", "413", "414", "431", "500", "503")


class UndeclaredStatus(RuntimeError):
    """An answer went out with a status its operation does not declare."""


def undeclared_statuses(operations) -> list[str]:
    """A line per operation that does not declare a status it may answer."""
    problems = []
    for _path, _method, operation in operations:
        responses = operation.get("responses", {})
        wanted = list(ANY_REQUEST)
        if "requestBody" in operation:
            wanted.append("415")
        security = operation.get("security", [{}])
        if security != []:
            wanted.append("401")
        if any(scopes for requirement in security for scopes in requirement.values()):
            wanted.append("403")  # a token without the scope (fresh, admin)
        missing = [status for status in wanted if status not in responses]
        if missing and "default" not in responses:
            problems.append(f"{operation['operationId']} may answer {', '.join(missing)} "
                            "but does not declare it")
    return problems


class DeclaredStatuses:
    """Raises `UndeclaredStatus` after an answer whose status the routed
    operation does not declare. `declared`: the statuses of each operation,
    by the name Connexion routes it by."""

    def __init__(self, app, declared: dict[str, frozenset[str]]):
        self.app = app
        self.declared = declared

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = None

        async def noting_the_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        await self.app(scope, receive, noting_the_status)
        declared = self.declared.get(routed_operation(scope))
        if declared is not None and status not in declared and "default" not in declared:
            raise UndeclaredStatus(f"{routed_operation(scope)} answered {status}, "
                                   "which its responses in the spec do not declare")
