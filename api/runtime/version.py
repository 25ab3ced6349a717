"""The service's version, as installed: the contract's (pyproject.toml reads
the same number)."""

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("stores-api")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"
