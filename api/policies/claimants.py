"""Who holds an Idempotency-Key's claim, and whether they are still alive.

A claimant is named by its host, its process id and that process's start
time (so that a process id used again is not taken for it); on PostgreSQL
also by an advisory lock that its process holds, for its whole life, on a
connection of its own.

- On this host, a claimant is known dead at once: no process has its id and
  start time.
- On another host, it is known dead when its lock is free. The database
  frees a lock when its connection ends: at once when the process dies and
  its host closes the socket; within about 11 s (the KEEPALIVES this
  connection asks the server for: 5 + 3 x 2) when the whole host is gone.
- A claimant known neither way is taken to be alive; the CLAIM_LEASE of
  api/policies/idempotency.py is the last resort.

A process whose lock connection drops names no lock in its claims until it
holds the lock again. Its claims of that time may be taken over while it
still runs; api/policies/idempotency.py makes a create commit only while its claim is
still its own, so nothing is made twice.
"""

import asyncio
import functools
import logging
import os
import secrets
import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.runtime.own_connection import on_own_connection

logger = logging.getLogger(__name__)

# The claimant of a claim whose request failed after its create committed.
RELEASED = ""
# Asked of the server for the lock's connection: a host that vanished
# without closing it is noticed after idle + interval × count seconds.
KEEPALIVES = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 3}
# How often the lock's connection is checked.
CHECK_SECONDS = 1

LOCK_HELD = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1)")


class Claimants:
    """This process as a claimant, and what it can tell of the others."""

    def __init__(self, database_url: str):
        self.on_postgres = make_url(database_url).get_backend_name() == "postgresql"
        self.lock_id = secrets.randbits(62)
        self.lock_held = False

    def this_process(self) -> str:
        """This process's name for a claim made now: with its lock only
        while it holds it."""
        name = _process_identity(os.getpid())
        return f"{name} {self.lock_id}" if self.lock_held else name

    def is_gone(self, session, claimant: str | None) -> bool:
        """True when the claim's process is known to be dead."""
        if claimant == RELEASED:
            return True
        if claimant is None:  # a claim made before claimants were noted
            return False
        # "host pid start-time[ lock]"; a part missing reads as "".
        host, pid, started, lock = (claimant.split(" ") + ["", "", ""])[:4]
        if host == socket.gethostname() and pid.isdigit() and started not in ("?", ""):
            return start_time(int(pid)) != started
        if lock.isdigit() and self.on_postgres:
            lock_id = int(lock)
            return not session.execute(
                LOCK_HELD, {"high": lock_id >> 32, "low": lock_id & 0xFFFFFFFF}).scalar()
        return False

    async def hold_lock(self, database_url: str) -> None:
        """Hold this process's lock for as long as it runs (a lifespan task),
        taking it again after the connection is lost."""
        try:
            await on_own_connection(database_url, self._hold_on, self._lost)
        finally:
            self.lock_held = False

    def _lost(self, exc: Exception) -> None:
        if self.lock_held:
            logger.warning("claimants: lock connection lost (%s); claims name no lock "
                           "until it is back", exc.__class__.__name__)
        self.lock_held = False

    async def _hold_on(self, connection) -> None:
        for name, seconds in KEEPALIVES.items():
            await connection.execute(f"SET {name} = {seconds}")
        while not await _try_lock(connection, self.lock_id):
            self.lock_id = secrets.randbits(62)  # taken: by chance, by another process
        self.lock_held = True
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            await connection.execute("SELECT 1")


async def _try_lock(connection, lock_id: int) -> bool:
    cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
    (taken,) = await cursor.fetchone()
    return taken


@functools.cache
def _process_identity(pid: int) -> str:
    return f"{socket.gethostname()} {pid} {start_time(pid)}"


def start_time(pid: int) -> str:
    """When process `pid` started, in clock ticks since boot; "?" if unknown."""
    try:  # Linux: the 22nd field of /proc/<pid>/stat, after the command's name
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return "?"

