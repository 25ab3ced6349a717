"""Connexion's validators, made strict where a hostile caller can hurt.

- Bodies are read as strict JSON (`api.contract.json_body`): duplicate keys, lone
  surrogates, NaN, deep nesting and numbers written past their precision are a
  400, never a 500 or a silently rounded price.
- Bodies are read whatever their framing: Connexion's own check looks for a
  Content-Length and calls a chunked body missing (connexion issue 2020).
- Numbers are checked in decimal: jsonschema checks `multipleOf: 0.01` in binary
  floating point, where 0.29 / 0.01 is 28.999999999999996.
- Patterns mean what they mean in the spec's dialect (ECMA-262): `$` is the end
  of the text. Python's `$` also matches before a final newline, which let
  "alice\\n" register beside "alice".
- Numbers in the query and the path are written as the spec's types say: ASCII
  digits, no `_`, no spaces, no leading zero, no `nan`; Python's int() and
  float() accept all of those.
- A name is checked as it will be stored, where the spec says `x-stored-as:
  NFC` (`api.contract.stored_text`): its length in NFC, and a visible
  character beyond what an ECMA-262 pattern can name.
- A problem names the field and the rule, never the value: jsonschema's messages
  quote what was sent (a password, a 10 MB name), and problems are logged.

And one thing made cheaper: Connexion builds a new jsonschema validator for every
parameter and body of every request (part of what connexion issues 2045 and
2077 measure). The schemas are fixed once the spec is loaded, so each is
compiled once here, and a request's are asked of jsonschema-rs first
(`api.contract.schema_checks`), with jsonschema still deciding every refusal.

These classes replace private methods of Connexion's validators (wrap_receive,
_parse, _validate, _validate_params_strictly): Connexion documents the
validator map, not these. pyproject.toml pins Connexion to 3.3, and
tests/test_connexion_seams.py fails if an upgrade changes what they rely on.
"""

import functools
import math
import re
from decimal import MAX_EMAX, MIN_EMIN, Decimal, Inexact, localcontext

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

from api.contract import stored_text
from api.contract.json_body import non_negative_zero, parse_json
from api.contract.schema_checks import SchemaCheck
from api.runtime.request_context import query_pairs

# How a field the caller named may appear in a problem: a plain, short name.
SHOWABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
INTEGER_TEXT = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
NUMBER_TEXT = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$")
NUMERAL = {"integer": INTEGER_TEXT, "number": NUMBER_TEXT}
NUMERAL_NAME = {INTEGER_TEXT: "n integer", NUMBER_TEXT: " number"}
# Where the query and path parameters, as validated, wait for the handler's
# call chain (api/contract/call_chain.py's RequestOnce), which would resolve them again.
VALIDATED_PARAMETERS = "stores_api.validated_parameters"
# The JSON body as validated: what the handler receives (api/contract/call_chain.py).
VALIDATED_BODY = "stores_api.validated_body"
# What Connexion's router takes for an integer in a path.
LOOSE_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def _decimal(number) -> Decimal:
    # Floats come from responses: their shortest repr is what will be written.
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def decimal_multiple_of(validator, multiple, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    if isinstance(instance, float) and not math.isfinite(instance):
        yield ValidationError("not a finite number")
    elif not _is_multiple(_decimal(instance), _decimal(multiple)):
        yield ValidationError(f"not a multiple of {multiple}")


def _is_multiple(number: Decimal, step: Decimal) -> bool:
    """Exactly, however many digits or however large an exponent was written."""
    with localcontext() as context:
        context.prec = len(number.as_tuple().digits) + len(step.as_tuple().digits) + 2
        context.Emax, context.Emin = MAX_EMAX, MIN_EMIN
        quotient = number / step
        return not context.flags[Inexact] and quotient == quotient.to_integral_value()


def ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"does not match {pattern}")


@functools.cache
def _ecma_regex(pattern: str) -> re.Pattern:
    """`pattern` compiled so that `$` outside a character class is the end of the
    text, as in ECMA-262, and not also the place before a final newline."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


_STRICT = {"multipleOf": decimal_multiple_of, "pattern": ecma_pattern}
# What the caller sends is checked as it will be stored; what the service
# answers was stored before, under the rules of its day.
RequestSchemaValidator = extend(Draft4RequestValidator,
                                {**_STRICT, stored_text.KEYWORD: stored_text.stored_as})
ResponseSchemaValidator = extend(Draft4ResponseValidator, _STRICT)
ParameterSchemaValidator = extend(Draft4Validator, _STRICT)


_compiled: dict[int, tuple[dict, object]] = {}


def compiled(validator_class, schema: dict, *, native_first: bool = False):
    """`validator_class(schema)`, built once per schema; `native_first`: behind
    jsonschema-rs (`api.contract.schema_checks`). The schema dicts belong to the loaded
    spec and are never changed; the entry holds on to its schema, so its id
    cannot be reused by another dict."""
    key = id(schema), id(validator_class), native_first
    entry = _compiled.get(key)
    if entry is None:
        exact = validator_class(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        entry = _compiled[key] = (schema, SchemaCheck(schema, exact) if native_first else exact)
    return entry[1]


def shown(name) -> str:
    """A caller-chosen name, quoted, when it is short and plain; else withheld."""
    name = str(name)
    return f"'{name}'" if SHOWABLE_NAME.match(name) else "a field whose name is not shown"


def broken_rule(error: ValidationError) -> str:
    """What the value failed, from the schema alone: `maxLength 80`, `type string`."""
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        return "required: missing " + ", ".join(shown(p) for p in missing)
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        unknown = [key for key in error.instance if key not in known]
        return "additionalProperties false: unknown " + ", ".join(shown(k) for k in unknown[:5])
    if error.validator == stored_text.KEYWORD:
        return error.message  # the rule, worded from the schema alone
    value = error.validator_value
    if error.validator == "pattern" and "x-pattern-rule" in error.schema:
        value = f"({error.schema['x-pattern-rule']})"  # a pattern too long to read
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = str(value).lower()
    return f"{error.validator} {value}"


def body_problem(error: ValidationError) -> BadRequestProblem:
    path = "/".join(str(part) for part in error.absolute_path)
    where = f"'{path}'" if path else "the body"
    return BadRequestProblem(detail=f"{where} does not satisfy {broken_rule(error)}")


class _StrictBody:
    """A request body check: the body read whatever its framing, its schema
    compiled once, problems worded by `body_problem`."""

    schema_validator = RequestSchemaValidator

    @property
    def _validator(self):
        return compiled(self.schema_validator, self._schema, native_first=True)

    async def wrap_receive(self, receive, *, scope):
        messages = []
        more_body = True
        while more_body:
            message = await receive()
            messages.append(message)
            more_body = message.get("more_body", False)
        if not any(message.get("body") for message in messages):
            if self._required:
                raise BadRequestProblem(detail="the request body is required")
            return self._insert_messages(receive, messages=messages), scope

        async def replay():
            for message in messages:
                yield message.get("body", b"")

        body = await self._parse(replay(), scope=scope)
        if not (body is None and self._nullable):
            self._validate(body)
        self._keep(body, scope)
        return self._insert_messages(receive, messages=messages), scope

    def _keep(self, body, scope) -> None:
        """A form is left for Starlette to read again."""

    def _check_schema(self, body) -> None:
        try:
            self._validator.validate(body)
        except ValidationError as error:
            raise body_problem(error) from None


class JSONBodyValidator(_StrictBody, JSONRequestBodyValidator):
    async def _parse(self, stream, scope):
        return parse_json(b"".join([chunk async for chunk in stream]))

    def _keep(self, body, scope) -> None:
        # The handler gets this very value, not a second parse through floats.
        scope[VALIDATED_BODY] = body

    def _validate(self, body):
        if not self._nullable and body is None:
            raise BadRequestProblem(detail="the request body must not be null")
        self._check_schema(body)


class FormBodyValidator(_StrictBody, FormDataValidator):
    def _validate(self, body):
        if not isinstance(body, dict):
            raise BadRequestProblem(detail="the form must be a mapping")
        if self._strict_validation:
            self._validate_params_strictly(body)
        self._check_schema(body)

    def _validate_params_strictly(self, data: dict) -> None:
        unknown = sorted(set(data) - set(self._schema.get("properties", {})))
        if unknown:
            names = ", ".join(shown(name) for name in unknown[:5])
            raise BadRequestProblem(detail=f"the form has unknown fields: {names}")


class JSONResponseValidator(JSONResponseBodyValidator):
    @property
    def validator(self):
        return compiled(ResponseSchemaValidator, self._schema)


class StrictParameterValidator(ParameterValidator):
    """Connexion's parameter checks, with numbers checked as written, a compiled
    validator per parameter, and problems that name the parameter and the rule."""

    def validate_request(self, request):
        self._check_numerals(request.scope)
        super().validate_request(request)
        if request._query_params and self._query_numbers:
            self._numbers_as_written(request.scope, request._query_params)
        # The values, not the request: it holds the scope, and a cycle would
        # keep every request's objects alive until the garbage collector ran.
        request.scope[VALIDATED_PARAMETERS] = request._query_params, request._path_params

    def _numbers_as_written(self, scope, query: dict) -> None:
        """A `number` query parameter as the Decimal its text says, not the
        float Connexion read (its last value, as Connexion takes)."""
        written = dict(query_pairs(scope))
        for name in self._query_numbers:
            if name in query and name in written:
                query[name] = non_negative_zero(Decimal(written[name]))

    def _check_numerals(self, scope) -> None:
        if scope.get("query_string") and self._query_numerals:
            pairs = query_pairs(scope)
            for name, numeral in self._query_numerals:
                if not all(numeral.match(text) for key, text in pairs if key == name):
                    raise BadRequestProblem(detail=f"query parameter '{name}' is not "
                                                   f"a{NUMERAL_NAME[numeral]} as JSON writes it")
        # Connexion's router has turned path ids into ints ("01" and "+1" into 1):
        # the text is checked in the path itself.
        if self._integer_in_path:
            if any(LOOSE_INTEGER.match(part) and not INTEGER_TEXT.match(part)
                   for part in scope["path"].split("/")):
                raise BadRequestProblem(
                    detail="a path parameter is not an integer written as JSON writes it")

    @functools.cached_property
    def _query_numerals(self) -> list:
        """(name, pattern) of each query parameter that is a number."""
        return [(param["name"], NUMERAL[param["schema"].get("type")])
                for param in self.parameters.get("query", [])
                if param["schema"].get("type") in NUMERAL]

    @functools.cached_property
    def _query_numbers(self) -> list[str]:
        return [param["name"] for param in self.parameters.get("query", [])
                if param["schema"].get("type") == "number"]

    @functools.cached_property
    def _integer_in_path(self) -> bool:
        return any(p["schema"].get("type") == "integer" for p in self.parameters.get("path", []))

    def validate_query_parameter_list(self, request, security_params=None):
        unknown = super().validate_query_parameter_list(request, security_params)
        return {shown(name) for name in sorted(unknown)[:5]}

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        try:
            compiled(ParameterSchemaValidator, param.get("schema", param),
                     native_first=True).validate(value)
        except ValidationError as error:
            return f"{parameter_type} parameter '{param['name']}' does not satisfy " \
                   f"{broken_rule(error)}"


def validator_map() -> dict:
    """Connexion's validator map, with the validators above in place of its own."""
    return {
        **VALIDATOR_MAP,
        "parameter": StrictParameterValidator,
        "body": MediaTypeDict(
            {
                **VALIDATOR_MAP["body"],
                "*/*json": JSONBodyValidator,
                "application/x-www-form-urlencoded": FormBodyValidator,
            }
        ),
        "response": MediaTypeDict({**VALIDATOR_MAP["response"], "*/*json": JSONResponseValidator}),
    }
