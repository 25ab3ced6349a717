"""Node.js for the contract's tools and the TypeScript client: a machine
without it skips those tests with a message; CI, which must run them, fails."""

import os
import shutil

import pytest


def require_node(what: str) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run {what}: Node.js and npm are missing")
        pytest.skip(f"Node.js and npm are not installed: {what} did not run")
