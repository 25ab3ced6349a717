"""The service's list of invisible characters against the spec's pattern:
within the Basic Multilingual Plane they must say the same."""

import re
import unicodedata

from api.contract.stored_text import INVISIBLE_RULE, is_invisible, refusal
from api.contract.validation import _ecma_regex
from openapi import load_spec

NAME = load_spec()["components"]["schemas"]["Name"]
# The pattern's middle class: the one visible character it requires.
VISIBLE = re.search(r"\*(\[\^[^\]]+\])\[", NAME["pattern"]).group(1)
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def test_the_pattern_and_the_service_see_the_same_invisible_characters_in_the_bmp():
    visible_by_pattern = _ecma_regex(VISIBLE)
    disagree = [
        f"U+{code:04X}" for code in range(0x10000)
        if not 0xD800 <= code <= 0xDFFF and code not in BIDI
        and unicodedata.category(chr(code)) != "Cc"
        and bool(visible_by_pattern.fullmatch(chr(code))) == is_invisible(chr(code))
    ]
    assert disagree == []


def test_the_rules_apply_where_the_spec_names_them_only():
    assert refusal(NAME, "\U000e0041") == INVISIBLE_RULE
    assert refusal({**NAME, "x-stored-as": None}, "\U000e0041") is None
    assert refusal(NAME, "\ufb2c" * 26 + "ab") is None  # 80 in NFC
    assert refusal(NAME, "\ufb2c" * 27).startswith("maxLength 80 in NFC")  # 81
