"""Connexion's request validation, set up once per operation.

For every request, Connexion's RequestValidationOperation builds a URI
parser, a parameter validator and, for a body, a body validator and a second
URI parser, from the operation alone. `RequestValidationOnce` builds them on
the first request and keeps them; what they check is unchanged. It also reads
the request's media type without the typing aliases Connexion's helper
builds on every call.
"""

import functools

from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.utils import is_nullable, split_content_type

# Body validators kept per operation, by media type and charset: the caller
# writes both, so past this many the rest are built per request, as before.
BODY_VALIDATORS_KEPT = 8


class RequestValidationOnce(RequestValidationOperation):
    @functools.cached_property
    def _uri_parser(self):
        operation = self._operation
        return operation._uri_parser_class(operation.parameters, operation.body_definition())

    @functools.cached_property
    def _parameter_validator(self):
        return self._validator_map["parameter"](
            self._operation.parameters,
            uri_parser=self._uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )

    @functools.cached_property
    def _body_validators(self) -> dict:
        return {}

    def _body_validator(self, mime_type: str, encoding: str):
        """Connexion's body validator for this media type, or None where the
        operation takes no body of it (as Connexion, which skips those)."""
        key = mime_type, encoding
        if key in self._body_validators:
            return self._body_validators[key]
        validator = body_validator = None
        schema = self._operation.body_schema(mime_type)
        if schema:
            try:
                # Indexing, not .get: the map matches media ranges (`*/*json`).
                body_validator = self._validator_map["body"][mime_type]
            except KeyError:
                pass
        if body_validator is not None:
            validator = body_validator(
                schema=schema,
                required=self._operation.request_body.get("required", False),
                nullable=is_nullable(self._operation.body_definition(mime_type)),
                encoding=encoding,
                strict_validation=self.strict_validation,
                uri_parser=self._uri_parser,
            )
        if len(self._body_validators) < BODY_VALIDATORS_KEPT:
            self._body_validators[key] = validator
        return validator

    def extract_content_type(self, headers) -> tuple[str, str]:
        """Connexion's, on the ASGI headers, without the typing aliases
        `connexion.utils.extract_content_type` builds on every call."""
        mime_type = encoding = None
        for name, value in headers:
            if name.lower() == b"content-type":
                mime_type, encoding = split_content_type(value.decode("latin-1"))
                break
        if mime_type is None:  # the header is optional: Connexion's best guess
            consumes = self._operation.consumes
            mime_type = consumes[0] if consumes else "application/octet-stream"
        return mime_type, "utf-8" if encoding is None else encoding

    async def __call__(self, scope, receive, send):
        # Connexion's steps, in its order: parameters, media type, body.
        self._parameter_validator.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        validator = self._body_validator(mime_type, encoding)
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class RequestValidationApiOnce(RequestValidationAPI):
    def make_operation(self, operation) -> RequestValidationOnce:
        return RequestValidationOnce(
            self.next_app, operation=operation, strict_validation=self.strict_validation,
            validator_map=self.validator_map)


class RequestValidationMiddlewareOnce(RequestValidationMiddleware):
    api_cls = RequestValidationApiOnce
