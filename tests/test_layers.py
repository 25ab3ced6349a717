"""The shape of api/: the direction of its imports ([tool.importlinter] in
pyproject.toml), which breaks on an arrow the wrong way, and functions short
enough to do one job each."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Lines of a function, its docstring and comments included: "about 40".
LONGEST_FUNCTION = 45


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


def test_no_function_in_api_is_longer_than_about_40_lines():
    longer = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    longer.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines}")
    assert not longer, longer
