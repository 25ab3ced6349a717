"""Nothing grows without bound: expired revocations and idempotency keys are
pruned by `stores-api prune` and, on their own, by the running service."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.process import migrate
from models import Database, IdempotencyKey, RevokedToken, User
from tests.conftest import API, PASSWORD, bearer, password_hash, run_cli

CYCLE_SECONDS = 6.0


def counts(database) -> tuple[int, int]:
    with database.session() as session:
        return (session.scalar(select(func.count()).select_from(RevokedToken)),
                session.scalar(select(func.count()).select_from(IdempotencyKey)))


@pytest.mark.slow
def test_stores_api_prune_deletes_what_has_expired_and_nothing_else(cli_env):
    env, url = cli_env, cli_env["DATABASE_URL"]
    migrate.upgrade(url)
    database = Database(url)
    now = datetime.now(UTC)
    with database.session() as session:
        user = User(username="owner", password_hash=password_hash(PASSWORD))
        session.add(user)
        session.flush()
        for n, expires in enumerate([now - timedelta(seconds=1), now + timedelta(hours=1)] * 3):
            session.add(RevokedToken(jti=f"00000000-0000-4000-8000-{n:012d}", user_id=user.id,
                                     expires_at=expires, revoked_at=now))
            session.add(IdempotencyKey(user_id=user.id, key=f"key-{n}", fingerprint="0" * 64,
                                       status=201, headers="[]", body=b"{}",
                                       created_at=now, expires_at=expires))
        session.commit()
    pruned = run_cli(env, "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 3 expired revoked_tokens, 3 expired idempotency_keys" in pruned.stdout
    assert counts(database) == (3, 3)
    assert run_cli(env, "prune").stdout.startswith("pruned 0 expired revoked_tokens")
    database.dispose()


@pytest.mark.slow
def test_the_running_service_prunes_so_the_revocations_stop_growing(app_with, db):
    """Token lifetimes of 2 s and a prune every 0.3 s: login, refresh and
    logout in a loop revoke three tokens a round, and the table levels off."""
    db.add(User(username="cycler", password_hash=password_hash(PASSWORD)))
    db.commit()
    app = app_with(access_token_seconds=2, refresh_token_seconds=2,
                   prune_interval_seconds=0.3, rate_limit_scale=100)
    revoked, sizes = 0, []
    with app.test_client() as client:
        deadline = time.monotonic() + CYCLE_SECONDS
        while time.monotonic() < deadline:
            pair = client.post(f"{API}/auth/login",
                               json={"username": "cycler", "password": PASSWORD}).json()
            renewed = client.post(f"{API}/auth/refresh", headers=bearer(pair["refresh_token"]))
            assert renewed.status_code == 200
            out = client.post(f"{API}/auth/logout", headers=bearer(renewed.json()["access_token"]),
                              json={"refresh_token": renewed.json()["refresh_token"]})
            assert out.status_code == 204
            revoked += 3  # the first refresh token, then the second pair
            sizes.append(counts(app.services.database)[0])
    assert revoked > 60, revoked  # enough rounds to tell growth from a plateau
    # Without pruning the table would hold every revocation (`revoked`); with
    # it, only those of the last 2 s (+ a prune interval) of a 6 s loop.
    assert max(sizes[len(sizes) // 2:]) < 0.6 * revoked, (revoked, sizes)
