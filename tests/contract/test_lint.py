"""The lint gate: the spec as served passes Redocly CLI's recommended rules
(redocly.yaml) with no error and no warning, and a spec with a known defect
does not. Redocly CLI is pinned in openapi/tools/package-lock.json and
run with the machine's Node; without Node the gate is skipped with a message,
and fails under CI."""

import copy
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import API
from tests.contract.node import require_node

LINTER = Path(__file__).resolve().parents[2] / "openapi" / "tools"
RULESET = Path(__file__).resolve().parents[2] / "redocly.yaml"


@pytest.fixture(scope="module")
def redocly():
    require_node("the lint gate")
    subprocess.run(["npm", "ci", "--no-fund", "--no-audit", "--silent"], cwd=LINTER,
                   check=True, capture_output=True, timeout=600)
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
