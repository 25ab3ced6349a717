"""Connexion's validators, with three things put right.

- Decimal `multipleOf`: jsonschema checks `multipleOf: 0.01` in binary floating
  point, where 0.29 / 0.01 is 28.999999999999996, so a valid price would be
  refused. Prices arrive as JSON numbers written in decimal, so they are checked
  in decimal, from the shortest repr that reads back as the same float (which is
  what the client wrote).
- Bodies that are not JSON (undecodable bytes, NaN, Infinity) are a 400, where
  Connexion lets a UnicodeDecodeError escape as a 500.
- A problem never repeats a password back, and so never logs one: jsonschema's
  messages quote the offending value.

And one thing made cheaper: Connexion builds a new jsonschema validator for every
parameter and body of every request (deep-copying the parameter first). The
schemas are fixed once the spec is loaded, so each is compiled once here.
"""

import json
import math
from decimal import Decimal

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend


def decimal_multiple_of(validator, multiple, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    if isinstance(instance, float) and not math.isfinite(instance):
        yield ValidationError(f"{instance!r} is not a finite number")
    elif Decimal(repr(instance)) % Decimal(repr(multiple)) != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {multiple}")


DecimalRequestValidator = extend(Draft4RequestValidator, {"multipleOf": decimal_multiple_of})
DecimalResponseValidator = extend(Draft4ResponseValidator, {"multipleOf": decimal_multiple_of})


_compiled: dict[int, tuple[dict, object]] = {}


def compiled(validator_class, schema: dict):
    """`validator_class(schema)`, built once per schema. The schema dicts belong to
    the loaded spec and are never changed; the entry holds on to its schema, so
    its id cannot be reused by another dict."""
    key = id(schema), id(validator_class)
    entry = _compiled.get(key)
    if entry is None:
        entry = _compiled[key] = (
            schema, validator_class(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
    return entry[1]


def body_problem(error: ValidationError) -> BadRequestProblem:
    """A 400 naming the field; for a password, without its value."""
    path = "/".join(str(part) for part in error.absolute_path)
    if error.schema.get("format") == "password":
        rule = f"{error.validator} {error.validator_value}".strip()
        return BadRequestProblem(detail=f"'{path}' does not satisfy {rule}")
    return BadRequestProblem(detail=f"{error.message} - '{path}'" if path else error.message)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class _CompiledBody:
    """A request body check with its schema compiled once, and problems worded
    by `body_problem`; what comes before the schema is each subclass's own."""

    schema_validator = Draft4RequestValidator

    @property
    def _validator(self):
        return compiled(self.schema_validator, self._schema)

    def _check_schema(self, body) -> None:
        try:
            self._validator.validate(body)
        except ValidationError as error:
            raise body_problem(error) from None


class JSONBodyValidator(_CompiledBody, JSONRequestBodyValidator):
    schema_validator = DecimalRequestValidator

    async def _parse(self, stream, scope):
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            return json.loads(raw.decode(self._encoding), parse_constant=_reject_constant)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise BadRequestProblem(detail=f"the body is not valid JSON: {exc}") from None

    def _validate(self, body):
        if not self._nullable and body is None:
            raise BadRequestProblem("Request body must not be empty")
        self._check_schema(body)


class FormBodyValidator(_CompiledBody, FormDataValidator):
    def _validate(self, body):
        if not isinstance(body, dict):
            raise BadRequestProblem("Parsed body must be a mapping")
        if self._strict_validation:
            self._validate_params_strictly(body)
        self._check_schema(body)


class JSONResponseValidator(JSONResponseBodyValidator):
    @property
    def validator(self):
        return compiled(DecimalResponseValidator, self._schema)


class ConciseParameterValidator(ParameterValidator):
    """Connexion's parameter checks with a compiled validator per parameter; a
    problem names the parameter and leaves out the schema dump jsonschema appends."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        try:
            compiled(Draft4Validator, param.get("schema", param)).validate(value)
        except ValidationError as error:
            return f"{parameter_type} parameter '{param['name']}': {error.message}"


def validator_map() -> dict:
    """Connexion's validator map, with the validators above in place of its own."""
    return {
        **VALIDATOR_MAP,
        "parameter": ConciseParameterValidator,
        "body": MediaTypeDict(
            {
                **VALIDATOR_MAP["body"],
                "*/*json": JSONBodyValidator,
                "application/x-www-form-urlencoded": FormBodyValidator,
            }
        ),
        "response": MediaTypeDict({**VALIDATOR_MAP["response"], "*/*json": JSONResponseValidator}),
    }
