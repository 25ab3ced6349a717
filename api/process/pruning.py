"""Nothing grows without bound: expired revocations, idempotency keys and
store invitations are deleted, by `stores-api prune` and, every
PRUNE_INTERVAL_SECONDS, by each running worker.

Each prune is one DELETE per table of rows past their `expires_at`, so any
number of workers and hosts may run it at once: they delete the same expired
rows, or nothing. Rate-limit counters need no pruning of ours: Redis expires
each window's key, and the in-memory counters drop expired windows themselves.
"""

import asyncio
import logging
import random
from datetime import UTC, datetime

from sqlalchemy import delete

from models import IdempotencyKey, RevokedToken, StoreInvitation

logger = logging.getLogger(__name__)
EXPIRING = {"revoked_tokens": RevokedToken, "idempotency_keys": IdempotencyKey,
            "store_invitations": StoreInvitation}


def prune(database, now: datetime | None = None) -> dict[str, int]:
    """Delete what has expired; the rows deleted, per table."""
    now = now or datetime.now(UTC)
    deleted = {}
    with database.session() as session:
        for table, model in EXPIRING.items():
            deleted[table] = session.execute(
                delete(model).where(model.expires_at <= now)).rowcount
            session.commit()
    return deleted


async def prune_every(database, interval_seconds: float, threads) -> None:
    """Prune forever, every `interval_seconds` (jittered so that workers
    started together do not prune together), in one of the handler threads
    (api/runtime/handler_threads.py). A failure is logged and retried at the next
    turn."""
    while True:
        await asyncio.sleep(interval_seconds * random.uniform(0.9, 1.1))
        try:
            deleted = await threads.run(prune, database)
        except Exception as exc:  # the database may be away; the next turn retries
            logger.warning("pruning failed: %s", exc.__class__.__name__)
            continue
        if any(deleted.values()):
            logger.info("pruned %s", ", ".join(f"{n} {t}" for t, n in deleted.items()))
