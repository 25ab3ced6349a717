"""The lint gate: the spec as served passes Redocly CLI's recommended rules
(redocly.yaml) and Spectral's OpenAPI rules (openapi/spectral.yaml) with no
error and no warning, OWASP's API Security ruleset finds no string, array
or integer without its bounds, and a spec with a known defect does not pass. The linters
are pinned in openapi/tools/package-lock.json and run with the machine's
Node; without Node the gate is skipped with a message, and fails under CI."""

import copy
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import API
from tests.contract.node import npm_ci, require_node

LINTER = Path(__file__).resolve().parents[2] / "openapi" / "tools"
RULESET = Path(__file__).resolve().parents[2] / "redocly.yaml"
SPECTRAL_RULESET = LINTER.parent / "spectral.yaml"
OWASP_RULESET = LINTER / "node_modules" / "@stoplight" / "spectral-owasp-ruleset" / "dist" / \
    "ruleset.mjs"
# OWASP's rules on bounds (API4:2023): what openapi check asks too.
BOUND_RULES = ("owasp:api4:2023-string-limit", "owasp:api4:2023-array-limit",
               "owasp:api4:2023-integer-format", "owasp:api4:2023-integer-limit")


@pytest.fixture(scope="module")
def redocly():
    require_node("the lint gate")
    npm_ci(LINTER)
    return LINTER / "node_modules" / ".bin" / "redocly"


def lint(redocly: Path, document: dict, folder: Path) -> dict:
    path = folder / "openapi.json"
    path.write_text(json.dumps(document))
    result = subprocess.run([redocly, "lint", str(path), "--config", str(RULESET),
                             "--format", "json"], capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    return {"totals": report["totals"],
            "rules": sorted({problem["ruleId"] for problem in report["problems"]})}


@pytest.fixture
def served(client) -> dict:
    return client.get(f"{API}/openapi.json").json()


def test_the_served_spec_lints_without_an_error_or_a_warning(redocly, served, tmp_path):
    result = lint(redocly, served, tmp_path)
    assert result["totals"]["errors"] == result["totals"]["warnings"] == 0, result


def test_the_gate_bites_on_an_operation_without_a_4xx_response(redocly, served, tmp_path):
    broken = copy.deepcopy(served)
    responses = broken["paths"]["/health"]["get"]["responses"]
    for status in [s for s in responses if s.startswith("4")]:
        del responses[status]
    result = lint(redocly, broken, tmp_path)
    assert result["totals"]["warnings"] + result["totals"]["errors"] > 0
    assert "operation-4xx-response" in result["rules"]


def spectral(document: dict, folder: Path, *rulesets: str) -> list[str]:
    """Spectral's findings on `document`, as "rule at path"."""
    spec, ruleset, report = folder / "openapi.json", folder / "spectral.yaml", folder / "out.json"
    spec.write_text(json.dumps(document))
    ruleset.write_text(json.dumps({"extends": list(rulesets)}))
    subprocess.run([LINTER / "node_modules" / ".bin" / "spectral", "lint", str(spec),
                    "--ruleset", str(ruleset), "--format", "json", "--output", str(report),
                    "--fail-severity", "hint"], capture_output=True, text=True, timeout=120)
    return [f"{p['code']} at {'.'.join(map(str, p['path']))}"
            for p in json.loads(report.read_text())]


def test_spectral_finds_no_error_or_warning(redocly, served, tmp_path):
    assert spectral(served, tmp_path, "spectral:oas") == []
    assert yaml.safe_load(SPECTRAL_RULESET.read_text()) == {"extends": ["spectral:oas"]}


def test_owasp_finds_every_string_array_and_integer_bounded(redocly, served, tmp_path):
    found = spectral(served, tmp_path, str(OWASP_RULESET))
    assert [f for f in found if f.startswith(BOUND_RULES)] == []
    assert len(found) > 0  # the ruleset ran: its other rules find what they find
    unbounded = copy.deepcopy(served)
    del unbounded["components"]["schemas"]["Token"]["maxLength"]
    del unbounded["components"]["schemas"]["Item"]["properties"]["tags"]["maxItems"]
    count = unbounded["components"]["schemas"]["Store"]["properties"]["item_count"]
    del count["format"], count["maximum"]
    found = spectral(unbounded, tmp_path, str(OWASP_RULESET))
    assert sorted(f for f in found if f.startswith(BOUND_RULES)) == [
        "owasp:api4:2023-array-limit at components.schemas.Item.properties.tags",
        "owasp:api4:2023-integer-format at components.schemas.Store.properties.item_count",
        "owasp:api4:2023-integer-limit-legacy at components.schemas.Store.properties.item_count",
        "owasp:api4:2023-string-limit at components.schemas.Token",
    ]
