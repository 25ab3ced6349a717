"""Run the test suite again on PostgreSQL, in a database of its own.

    python -m tests.postgres_suite [pytest arguments]

Uses the server at PGHOST:PGPORT (default 127.0.0.1:5432, user postgres, trust
auth); starts a local cluster that is installed but stopped. Each run creates a
fresh database, hands it to pytest as TEST_DATABASE_URL (tests create siblings
named after it when they need empty ones) and drops them all at the end. With
no PostgreSQL at all it says so plainly and exits 0: the SQLite run stands.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

HOST = os.environ.get("PGHOST", "127.0.0.1")
PORT = int(os.environ.get("PGPORT", "5432"))
USER = os.environ.get("PGUSER", "postgres")


def reachable() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return True
    except OSError:
        return False


def start_local_cluster() -> None:
    clusters = Path("/etc/postgresql")
    if HOST not in ("127.0.0.1", "localhost") or not clusters.is_dir():
        return
    for version in sorted(p.name for p in clusters.iterdir()):
        print(f"starting PostgreSQL {version} (installed but stopped)", flush=True)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                       check=False, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not reachable():
        time.sleep(0.5)


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(host=HOST, port=PORT, user=USER, dbname="postgres", autocommit=True)


def drop_databases(prefix: str) -> None:
    with admin_connection() as connection:
        names = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{prefix}%",)
        ).fetchall()
        for (name,) in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(pytest_args: list[str]) -> int:
    if not reachable():
        start_local_cluster()
    if not reachable():
        print(f"\n*** PostgreSQL is not reachable at {HOST}:{PORT}: the PostgreSQL suite did NOT "
              "run. Only the SQLite suite ran. ***\n", flush=True)
        return 0
    name = f"stores_test_{uuid.uuid4().hex[:12]}"
    with admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        # As for the databases the tests make (tests/conftest.py): no crash
        # of the machine need be survived.
        connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    print(f"\n*** The suite on PostgreSQL ({HOST}:{PORT}, database {name}) ***\n", flush=True)
    url = f"postgresql+psycopg://{USER}@{HOST}:{PORT}/{name}"
    try:
        return subprocess.call(
            [sys.executable, "-m", "pytest", *pytest_args],
            env={**os.environ, "TEST_DATABASE_URL": url},
        )
    finally:
        drop_databases(name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
