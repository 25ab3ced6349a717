"""The direction of imports in api/ ([tool.importlinter] in pyproject.toml):
the contracts hold, and they break on an arrow the wrong way."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=source, env={"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_policy_that_imports_a_handler_breaks_them(tmp_path):
    for package in ("api", "models"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static"))
    wrong = tmp_path / "api" / "policies" / "idempotency.py"
    wrong.write_text(wrong.read_text() + "\nfrom api.items import create_item  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "api.policies is not allowed to import api.items" in result.stdout
    assert "api.policies.idempotency -> api.items" in result.stdout
