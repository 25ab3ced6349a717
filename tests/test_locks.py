"""The image's lock (requirements-runtime.lock, for the Dockerfile) pins
each package as requirements.lock, which every test ran with, pins it: the
image runs what was tested, without the test and bench tools."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\[\],-]+)==([^\s;\\]+)", re.M)


def pins(name: str) -> dict[str, str]:
    return {package.split("[")[0].lower(): version
            for package, version in PIN.findall((ROOT / name).read_text())}


def test_the_image_pins_what_was_tested_and_no_test_tool():
    tested, image = pins("requirements.lock"), pins("requirements-runtime.lock")
    older_python_only = {"async-timeout"}
    assert {name: version for name, version in image.items()
            if tested.get(name) != version} == {n: image[n] for n in older_python_only}
    assert not {"pytest", "schemathesis", "playwright", "flask", "hypothesis"} & image.keys()
    assert {"connexion", "sqlalchemy", "psycopg", "gunicorn", "redis"} <= image.keys()
