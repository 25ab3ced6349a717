"""The compatibility gate: no release breaks a client silently.

Every released contract is kept in openapi/released/<version>.yaml. The
current spec is compared with one of them (the newest by default) by
api-smart-diff, pinned in openapi/tools and run with Node (diff.mjs), which
classifies each difference as breaking or not. A breaking difference is
allowed only in a new major version of `info.version`, or where
openapi/accepted-breaks.yaml accepts it for this version, with its reason
(as oasdiff's ignore file does): a bound stated for what no client sends.
An acceptance that matches no change fails the gate, so none outlives the
change it was written for.
"""

import json
import subprocess
from pathlib import Path

import yaml

from openapi import SPEC_PATH, load_spec

RELEASED = SPEC_PATH.parent / "released"
ACCEPTED = SPEC_PATH.parent / "accepted-breaks.yaml"
TOOLS = SPEC_PATH.parent / "tools"


class DiffUnavailable(RuntimeError):
    """The diff cannot be made: no checkout (openapi/tools), no Node, or the tool failed."""


def latest_release() -> Path:
    releases = sorted(RELEASED.glob("*.yaml"), key=lambda path: _version(path.stem))
    if not releases:
        raise DiffUnavailable(f"no released contract in {RELEASED}")
    return releases[-1]


def changes(base: Path, current: Path = SPEC_PATH) -> list[dict]:
    """Every difference from `base` to `current`: {type, path, description}."""
    if not (TOOLS / "diff.mjs").exists():
        raise DiffUnavailable("the diff tool lives in a checkout's openapi/tools")
    try:
        if not (TOOLS / "node_modules").exists():
            subprocess.run(["npm", "ci", "--no-fund", "--no-audit", "--silent"], cwd=TOOLS,
                           check=True, capture_output=True, timeout=600)
        result = subprocess.run(["node", "diff.mjs", str(base.resolve()), str(current.resolve())],
                                cwd=TOOLS, check=True, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as exc:
        raise DiffUnavailable("Node.js and npm are needed to compare contracts") from exc
    except subprocess.CalledProcessError as exc:
        raise DiffUnavailable(f"the diff tool failed: {exc.stderr[-500:]}") from None
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def unreleased_breaks(base: Path, current: Path = SPEC_PATH,
                      found: list[dict] | None = None) -> list[dict]:
    """The breaking changes (of `found`, if given: `changes(base, current)`)
    that the current version number does not announce, nor an acceptance."""
    if major(current) > major(base):
        return []
    accepted = {entry["description"] for entry in acceptances(base, current)}
    return [change for change in
            breaking_changes(changes(base, current) if found is None else found)
            if change["description"] not in accepted]


def acceptances(base: Path, current: Path = SPEC_PATH) -> list[dict]:
    """The accepted breaks of the current version, when `base` is older."""
    version = str(load_spec(current)["info"]["version"])
    if _version(version) <= _version(str(load_spec(base)["info"]["version"])):
        return []
    entries = yaml.safe_load(ACCEPTED.read_text(encoding="utf-8")) if ACCEPTED.exists() else []
    return [entry for entry in entries or [] if str(entry["version"]) == version]


def unmatched_acceptances(found: list[dict], base: Path, current: Path = SPEC_PATH) -> list[dict]:
    breaks = {change["description"] for change in breaking_changes(found)}
    return [entry for entry in acceptances(base, current) if entry["description"] not in breaks]


def breaking_changes(found: list[dict]) -> list[dict]:
    return [change for change in found if change["type"] == "breaking"]


def major(spec: Path) -> int:
    return _version(str(load_spec(spec)["info"]["version"]))[0]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
