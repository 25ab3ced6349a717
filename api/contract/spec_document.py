"""The contract served as written: `$ref`s, named components and all.

Connexion serves /openapi.json fully resolved (every `$ref` inlined), so a
client generator pointed at the URL makes anonymous models (`CreateStoreBody`)
instead of `Store`, `Item` and `Problem`. This serves openapi/swagger.yaml as
it is, with `servers` made absolute from the service's own origin (PUBLIC_URL,
or the address it listens on: api.policies.request_guard pins the Host).
"""

import json

import yaml
from starlette.responses import Response


class SpecDocument:
    def __init__(self, written: dict):
        """`written`: the spec as loaded, which nothing may change."""
        self.written = written
        self._rendered: dict[tuple[str, str], bytes] = {}

    def as_json(self, request) -> Response:
        return Response(self._render(request, "json"), media_type="application/json")

    def as_yaml(self, request) -> Response:
        return Response(self._render(request, "yaml"), media_type="application/yaml")

    def _render(self, request, kind: str) -> bytes:
        origin = str(request.base_url).rstrip("/")
        key = origin, kind
        if key not in self._rendered:  # one origin in practice: render it once
            servers = [{**server, "url": origin + server["url"]}
                       if server["url"].startswith("/") else server
                       for server in self.written.get("servers", [])]
            document = {**self.written, "servers": servers}
            self._rendered[key] = (
                json.dumps(document, ensure_ascii=False).encode() if kind == "json"
                else yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
            )
        return self._rendered[key]
