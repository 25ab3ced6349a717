"""The client packages `make client` builds, built by the same script for the
tests that install them."""

import subprocess
import sys
from pathlib import Path

import yaml

from openapi import SPEC_PATH

PROJECT = Path(__file__).resolve().parents[2]
CONTRACT_VERSION = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))["info"]["version"]
BUILD_SECONDS = 600


def build_client(which: str, output: Path) -> Path:
    """Build the `which` client ("python" or "typescript") into `output`."""
    result = subprocess.run([sys.executable, str(PROJECT / "openapi" / "clients" / "build.py"),
                             "--only", which, "--output", str(output)],
                            capture_output=True, text=True, timeout=BUILD_SECONDS)
    assert result.returncode == 0, result.stderr
    (artifact,) = output.iterdir()
    return artifact
