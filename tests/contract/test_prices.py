"""A price reads alike to every validator (issue 41): the service's own
(Python's jsonschema, and jsonschema-rs before it), ajv (behind Prism,
Spectral and many JavaScript clients), over every price from 0.00 to
100.00, the bounds and what lies past them. Prism sees prices in
tests/contract/test_prism_proxy.py, the generated clients in their flows."""

import json
import subprocess
from decimal import Decimal
from pathlib import Path

from jsonschema import ValidationError

from api.contract.validation import RequestSchemaValidator, compiled
from openapi import load_spec
from tests.contract.node import npm_ci, require_node

PRICE = load_spec()["components"]["schemas"]["Price"]
TOOLS = Path(__file__).resolve().parents[2] / "openapi" / "tools"
EVERY_CENT = [f"{Decimal(cents) / 100:.2f}" for cents in range(10_001)]
ACCEPTED = [*EVERY_CENT, "0", "5", "5.5", "0.5", "100", "1000000000", "1000000000.0",
            "1000000000.00", "999999999.99", "999999999.9", "123456789"]
REFUSED = ["1000000000.01", "1000000001", "10000000000", "12.345", "0.001", "-1", "-0", "+1",
           "1e3", "1E3", "", " 1", "1 ", "01", "00.5", ".5", "5.", "1,5", "١", "1_0", "NaN",
           "Infinity", "0x10", "19.99\n", 19.99, 0, None, True, [], {}]


def service_accepts(value) -> bool:
    try:
        compiled(RequestSchemaValidator, PRICE, native_first=True).validate(value)
    except ValidationError:
        return False
    return True


def ajv_accepts(values: list, schema: dict = PRICE) -> list[bool]:
    require_node("ajv's reading of the price")
    npm_ci(TOOLS)
    result = subprocess.run(["node", str(Path(__file__).with_name("ajv_verdicts.mjs"))],
                            input=json.dumps({"schema": schema, "values": values}),
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def test_the_service_accepts_every_price_and_refuses_the_rest():
    assert [v for v in ACCEPTED if not service_accepts(v)] == []
    assert [v for v in REFUSED if service_accepts(v)] == []


def test_ajv_reads_every_price_as_the_service_does():
    values = ACCEPTED + REFUSED
    verdicts = ajv_accepts(values)
    disagree = [v for v, ajv in zip(values, verdicts, strict=True) if ajv != service_accepts(v)]
    assert disagree == []


def test_the_number_prices_of_3_2_0_were_read_otherwise_by_ajv():
    """Why 4.0.0: `multipleOf: 0.01` on a number, which ajv checks in binary
    floating point. The service, checking in decimal, took every one."""
    released = load_spec(TOOLS.parent / "released" / "3.2.0.yaml")["components"]["schemas"]
    cents = [float(price) for price in EVERY_CENT]
    refused_by_ajv = [price for price, ajv in zip(
        cents, ajv_accepts(cents, released["Price"]), strict=True) if not ajv]
    assert all(service_accepts_number(released["Price"], price) for price in cents)
    assert 19.99 in refused_by_ajv and len(refused_by_ajv) > 100, len(refused_by_ajv)


def service_accepts_number(schema: dict, value: float) -> bool:
    try:
        compiled(RequestSchemaValidator, schema).validate(Decimal(repr(value)))
    except ValidationError:
        return False
    return True
