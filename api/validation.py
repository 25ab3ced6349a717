"""JSON Schema validators for Connexion that get decimal `multipleOf` right.

jsonschema checks `multipleOf: 0.01` in binary floating point, where 0.29 / 0.01
is 28.999999999999996: a valid price would be refused. Prices arrive as JSON
numbers written in decimal, so they are checked in decimal, from the shortest
repr that reads back as the same float (which is what the client wrote).
"""

import json
import math
from decimal import Decimal

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from connexion.validators import (
    VALIDATOR_MAP,
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


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class DecimalJSONRequestBodyValidator(JSONRequestBodyValidator):
    async def _parse(self, stream, scope):
        # Connexion lets undecodable bytes escape as a 500, and Python's json
        # accepts NaN and Infinity, which JSON does not: both are a 400 here.
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            return json.loads(raw.decode(self._encoding), parse_constant=_reject_constant)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise BadRequestProblem(detail=f"the body is not valid JSON: {exc}") from None

    @property
    def _validator(self):
        return DecimalRequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)


class DecimalJSONResponseBodyValidator(JSONResponseBodyValidator):
    @property
    def validator(self):
        return DecimalResponseValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)


class ConciseParameterValidator(ParameterValidator):
    """Names the parameter, and leaves out the schema dump jsonschema appends."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if error and "\n\nFailed validating" in error:
            error = f"{parameter_type} parameter '{param['name']}': {error.split(chr(10))[0]}"
        return error


def validator_map() -> dict:
    """Connexion's validator map, with the validators above in place of its own."""
    return {
        **VALIDATOR_MAP,
        "parameter": ConciseParameterValidator,
        "body": MediaTypeDict(
            {**VALIDATOR_MAP["body"], "*/*json": DecimalJSONRequestBodyValidator}
        ),
        "response": MediaTypeDict(
            {**VALIDATOR_MAP["response"], "*/*json": DecimalJSONResponseBodyValidator}
        ),
    }
