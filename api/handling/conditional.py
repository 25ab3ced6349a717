"""Conditional requests: strong ETags, If-None-Match (304) and If-Match (412).

An ETag is a digest of the representation itself, so it changes exactly when
what a client would read changes (a store's item count included).
"""

import hashlib

from starlette.datastructures import Headers

from api.contract.json_out import dumps_bytes
from api.contract.problems import api_problem
from api.runtime.request_context import current_scope


def etag(representation: dict) -> str:
    canonical = dumps_bytes(representation, sort_keys=True)
    return f'"{hashlib.sha256(canonical).hexdigest()[:32]}"'


def conditional_get(representation: dict) -> tuple:
    """200 with the ETag, or 304 with no body when If-None-Match still matches."""
    tag = etag(representation)
    held = _header("If-None-Match")
    # Weak comparison (RFC 9110, 13.1.2): W/"x" matches "x".
    if held and (held.strip() == "*" or tag in {t.removeprefix("W/") for t in _tags(held)}):
        return None, 304, {"ETag": tag}
    return representation, 200, {"ETag": tag}


def with_etag(representation: dict, status: int = 200) -> tuple:
    return representation, status, {"ETag": etag(representation)}


def check_if_match(row, representation_of, what: str) -> None:
    """412 unless If-Match is absent, `*`, or names the current ETag of
    `representation_of(row)` (strongly); the representation is built only
    when there is an ETag to compare."""
    held = _header("If-Match")
    if held is None or held.strip() == "*":
        return
    if etag(representation_of(row)) not in _tags(held):
        raise api_problem(412, f"the {what} has changed since the ETag in If-Match")


def _header(name: str) -> str | None:
    return Headers(scope=current_scope()).get(name)


def _tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}
