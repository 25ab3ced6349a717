"""Build both clients from the contract alone, each versioned as its
`info.version`: a Python wheel (openapi-python-client, then `pip wheel`) and
an npm package (openapi-typescript types bound to openapi-fetch, `npm pack`);
beside them, the Postman collection of the tutorial's chain of requests
(openapi/postman/), for Postman, Insomnia or newman.

    python openapi/clients/build.py [--spec openapi/swagger.yaml] [--output dist/clients]

Nothing of the service goes into either artifact; `make client` runs this.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
TYPESCRIPT_TEMPLATE = HERE / "typescript"
PYTHON_CONFIG = PROJECT / "openapi" / "python-client.yaml"
POSTMAN_COLLECTION = PROJECT / "openapi" / "postman" / "stores-api.postman_collection.json"
STEP_SECONDS = 600


def contract_version(spec: Path) -> str:
    return str(yaml.safe_load(spec.read_text(encoding="utf-8"))["info"]["version"])


def run(*args, cwd: Path, env: dict | None = None) -> None:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=STEP_SECONDS)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")


def build_python_wheel(spec: Path, output: Path, work: Path) -> Path:
    """openapi-python-client writes a setuptools project named for the
    contract's version; pip builds it, as any consumer's pip would."""
    bin_dir = Path(sys.executable).parent
    source = work / "stores-api-client"
    run(bin_dir / "openapi-python-client", "generate", "--path", spec, "--config", PYTHON_CONFIG,
        "--meta", "setup", "--fail-on-warning", "--output-path", source, cwd=work)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", output,
        source, cwd=work)
    (wheel,) = output.glob(f"stores_api_client-{contract_version(spec)}-*.whl")
    return wheel


def build_npm_package(spec: Path, output: Path, work: Path) -> Path:
    """The template's pinned tools (package-lock.json) generate the types,
    the compiler checks and emits them, and npm packs the result."""
    if shutil.which("npm") is None:
        raise SystemExit("npm is missing: the TypeScript client needs Node.js and npm")
    package = work / "typescript"
    shutil.copytree(TYPESCRIPT_TEMPLATE, package,
                    ignore=shutil.ignore_patterns("node_modules", "dist", "schema.ts"))
    npm = ("npm", "--no-fund", "--no-audit")
    env = {**os.environ, "STORES_API_SPEC": str(spec)}
    run(*npm, "ci", cwd=package)
    run(*npm, "run", "generate", cwd=package, env=env)
    run(*npm, "pkg", "set", f"version={contract_version(spec)}", cwd=package)
    run(*npm, "run", "build", cwd=package)
    run(*npm, "pack", "--pack-destination", output, cwd=package)
    return output / f"stores-api-client-{contract_version(spec)}.tgz"


def copy_postman_collection(spec: Path, output: Path, _work: Path) -> Path:
    """The collection, named for the contract it follows."""
    copied = output / f"stores-api-{contract_version(spec)}.postman_collection.json"
    shutil.copyfile(POSTMAN_COLLECTION, copied)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=PROJECT / "openapi" / "swagger.yaml")
    parser.add_argument("--output", type=Path, default=PROJECT / "dist" / "clients")
    parser.add_argument("--only", choices=("python", "typescript", "postman"),
                        help="build one client instead of both (or copy the collection)")
    args = parser.parse_args(argv)
    spec, output = args.spec.resolve(), args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    builders = {"python": build_python_wheel, "typescript": build_npm_package,
                "postman": copy_postman_collection}
    for name, build in builders.items():
        if args.only in (None, name):
            with tempfile.TemporaryDirectory(prefix=f"stores-client-{name}-") as work:
                artifact = build(spec, output, Path(work))
            print(f"{name} client {contract_version(spec)}: {artifact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
