"""The spec's `x-stored-as: NFC`: a text checked as it will be stored.

Names are kept in Unicode NFC (models/names.py). JSON Schema and the spec's
ECMA-262 patterns see the text as sent, so two rules need the service:

- `maxLength` holds for the NFC form too. NFC can lengthen a text: U+FB2C
  is one character and three in NFC, so 80 of them passed `maxLength: 80`
  and were 240 characters that PostgreSQL's column refused (a 500).
- At least one character is visible: neither whitespace nor one of
  Unicode's default-ignorable characters. The spec's pattern names those of
  the Basic Multilingual Plane; an ECMA-262 pattern without the `u` flag
  reads UTF-16 code units and cannot name the rest (the tag characters
  U+E0000 to U+E0FFF, U+1BCA0 to U+1BCA3, U+1D173 to U+1D17A), so a name
  of two tag characters alone was taken as visible.

A problem says which rule failed, never the text.
"""

import unicodedata

from jsonschema import ValidationError

KEYWORD = "x-stored-as"
INVISIBLE_RULE = "at least one character neither whitespace nor invisible"

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, 15.1):
# Python's unicodedata does not have it. Inclusive ranges.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def is_invisible(char: str) -> bool:
    code = ord(char)
    return char.isspace() or any(low <= code <= high for low, high in DEFAULT_IGNORABLE)


def refusal(schema: dict, text: str) -> str | None:
    """The rule `text` fails as stored, or None."""
    if schema.get(KEYWORD) != "NFC":
        return None
    limit = schema.get("maxLength")
    if limit is not None and len(unicodedata.normalize("NFC", text)) > limit:
        return f"maxLength {limit} in NFC, the form it is stored in"
    if all(map(is_invisible, text)):
        return INVISIBLE_RULE
    return None


def stored_as(validator, _form, instance, schema):
    """The keyword for jsonschema (api.contract.validation)."""
    if validator.is_type(instance, "string") and (rule := refusal(schema, instance)):
        yield ValidationError(rule)


class StoredAs:
    """The keyword for jsonschema-rs (api.contract.schema_checks): what it
    refuses goes to jsonschema, which words the problem."""

    def __init__(self, parent_schema: dict, _value, _schema_path) -> None:
        self.schema = parent_schema

    def validate(self, instance) -> None:
        if isinstance(instance, str) and refusal(self.schema, instance):
            raise ValueError(KEYWORD)
