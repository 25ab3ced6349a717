"""Deprecation from the spec, with no code in the handlers.

An operation with `deprecated: true` and an `x-deprecation` answers with
`Deprecation` (RFC 9745: the date it was deprecated), `Sunset` (RFC 8594: the
date it goes away) and a `Link` to its successor, `rel="successor-version"`,
its `{path parameters}` filled from the request. It also marks the request so
that the access log records who still calls it.
"""

from email.utils import format_datetime

from starlette.datastructures import MutableHeaders

from api.contract.spec_policy import Deprecation, OperationPolicy, routed_operation


class DeprecationMiddleware:
    def __init__(self, app, policies: dict[str, OperationPolicy], base_path: str):
        self.app = app
        self.base_path = base_path
        self.deprecated = {route: policy for route, policy in policies.items()
                           if policy.deprecation}

    async def __call__(self, scope, receive, send):
        operation_id = routed_operation(scope)
        policy = self.deprecated.get(operation_id) if scope["type"] == "http" else None
        if policy is None:
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})["deprecated_operation"] = policy.operation_id
        headers = self.headers(policy.deprecation, scope.get("path_params", {}))

        async def send_with_notice(message):
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers:
                    response_headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_notice)

    def headers(self, deprecation: Deprecation, path_params: dict) -> list[tuple[str, str]]:
        successor = deprecation.successor.format(**{k: str(v) for k, v in path_params.items()})
        return [
            ("Deprecation", f"@{int(deprecation.since.timestamp())}"),
            ("Sunset", format_datetime(deprecation.sunset, usegmt=True)),
            ("Link", f'<{self.base_path}{successor}>; rel="successor-version"'),
        ]
