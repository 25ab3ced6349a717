"""What the tests of the policies share: an Idempotency-Key claimed without
its answer (tests/policies/test_idempotency.py, test_claimants.py)."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from api.policies.idempotency import KEPT_FOR, request_fingerprint
from models import IdempotencyKey
from tests.conftest import API

KEY = "3f1c9b8e-5a2d-4c61-9e7f-0d2b6a4c8e11"


def count(db, model) -> int:
    try:
        return db.scalar(select(func.count()).select_from(model))
    finally:
        db.rollback()  # SQLite: the test's read must not hold the write lock


def claimed_without_answer(db, user, body: bytes, claimant: str | None = None) -> None:
    """KEY claimed for POST /stores with `body` by `claimant`, no answer kept yet."""
    now = datetime.now(UTC)
    db.add(IdempotencyKey(user_id=user.id, key=KEY, created_at=now, expires_at=now + KEPT_FOR,
                          claimant=claimant,
                          fingerprint=request_fingerprint("POST", f"{API}/stores", body)))
    db.commit()


def post_store(client, auth, body: bytes):
    return client.post(f"{API}/stores", content=body, headers={
        **auth, "Idempotency-Key": KEY, "Content-Type": "application/json"})
