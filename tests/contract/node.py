"""Node.js for the contract's tools and the TypeScript client: a machine
without it skips those tests with a message; CI, which must run them, fails."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_node(what: str) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run {what}: Node.js and npm are missing")
        pytest.skip(f"Node.js and npm are not installed: {what} did not run")


def npm_ci(folder: Path) -> None:
    """`npm ci` in `folder`, unless its node_modules were installed from its
    lock file as it stands (npm keeps a copy of it there)."""
    installed = folder / "node_modules" / ".package-lock.json"
    lock = folder / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(["npm", "ci", "--no-fund", "--no-audit", "--silent"], cwd=folder,
                   check=True, capture_output=True, timeout=600)
