"""CORS for browser clients on other origins (CORS_ORIGINS), by Starlette's
middleware; unset, no CORS header is ever sent."""

import json
from http import HTTPStatus

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response


def cors_options(origins: tuple[str, ...]) -> dict:
    """What a page on one of `origins` may send and read: tokens travel in
    Authorization (no cookies, so no credentials mode); conditional requests,
    idempotent retries and pagination need their headers both ways."""
    return {
        "allow_origins": list(origins),
        "allow_methods": ["GET", "POST", "PUT", "DELETE"],
        "allow_headers": ["Authorization", "Content-Type", "If-Match", "If-None-Match",
                          "Idempotency-Key", "Device-Token"],
        "expose_headers": ["ETag", "Location", "Link", "X-Request-ID", "Retry-After",
                           # The spec's rate limits and deprecations, for clients to honour.
                           "RateLimit", "RateLimit-Policy", "Deprecation", "Sunset"],
        "max_age": 600,
    }


class CrossOriginMiddleware(CORSMiddleware):
    """Starlette's, with a refused preflight answered as problem+json like every
    other error of this service (Starlette's own answer is plain text)."""

    def preflight_response(self, request_headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        problem = {"type": "about:blank", "title": HTTPStatus(response.status_code).phrase,
                   "status": response.status_code, "detail": response.body.decode()}
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"
                   and k.lower() != "content-type"}
        return Response(json.dumps(problem), status_code=response.status_code, headers=headers,
                        media_type="application/problem+json")
