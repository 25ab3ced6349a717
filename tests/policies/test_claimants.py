"""Whose claim is an Idempotency-Key's, and is that process alive
(api/policies/claimants.py): on this host by its process; on PostgreSQL, on
any host, by the advisory lock its process holds."""

import subprocess
import sys
import time

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

import api.policies.idempotency
from api.policies.claimants import RELEASED, Claimants
from models import IdempotencyKey, Store
from tests.conftest import ON_POSTGRES, assert_problem, needs_postgres
from tests.policies.conftest import KEY, claimed_without_answer, count, post_store

# Another host: never this one's name, so its process cannot be looked up here.
ELSEWHERE = "another-host.invalid 4242 987654"
FINAL_ANSWER_WITHIN = 10  # seconds: the goal of issue 31


@pytest.fixture
def client(threaded_client):
    """The app in a thread of its own, as a server runs it: it holds its
    lock, and takes it again, between requests."""
    return threaded_client


@pytest.mark.parametrize("claimant", [None, ELSEWHERE, f"{ELSEWHERE} 12345", "x", "x y", "? ? ?"])
def test_a_claimant_nobody_can_tell_about_is_taken_to_be_alive(services, db, claimant):
    if ON_POSTGRES and claimant == f"{ELSEWHERE} 12345":
        pytest.skip("on PostgreSQL, a free lock tells: see the tests below")
    assert not services.claimants.is_gone(db, claimant)


def test_a_released_claim_is_nobody_s(services, db):
    assert services.claimants.is_gone(db, RELEASED)


def test_a_claim_names_the_lock_only_while_it_is_held():
    claimants = Claimants("postgresql+psycopg://nobody@127.0.0.1/nothing")
    assert len(claimants.this_process().split(" ")) == 3  # host, process id, start time
    claimants.lock_held = True
    assert claimants.this_process().split(" ")[3] == str(claimants.lock_id)
    assert not Claimants("sqlite:///stores.db").on_postgres


@needs_postgres
def test_a_serving_process_holds_its_lock_and_names_it_in_its_claims(client, services, db):
    claimants = services.claimants
    wait_for(lambda: claimants.lock_held)
    assert claimants.this_process().endswith(f" {claimants.lock_id}")
    assert not claimants.is_gone(db, f"{ELSEWHERE} {claimants.lock_id}")


@needs_postgres
def test_a_lock_whose_connection_was_cut_is_taken_again(client, services, db):
    claimants = services.claimants
    wait_for(lambda: claimants.lock_held)
    mine = f"{ELSEWHERE} {claimants.lock_id}"
    db.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid::bigint = :high AND objid::bigint = :low"),
               {"high": claimants.lock_id >> 32, "low": claimants.lock_id & 0xFFFFFFFF})
    db.commit()
    wait_for(lambda: claimants.is_gone(db, mine))  # to others, for now, this process is gone
    wait_for(lambda: not claimants.lock_held)
    wait_for(lambda: claimants.lock_held)
    assert not claimants.is_gone(db, f"{ELSEWHERE} {claimants.lock_id}")


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.05)


@needs_postgres
def test_a_claim_of_a_process_on_another_host_waits_while_it_lives_and_not_once_it_died(
        client, auth, db, user, database_url):
    holder, lock_id = process_holding_a_lock(database_url)
    body = b'{"name":"Elsewhere"}'
    claimed_without_answer(db, user, body, claimant=f"{ELSEWHERE} {lock_id}")
    try:
        assert_problem(post_store(client, auth, body), 409, "in progress")
    finally:
        holder.kill()
        holder.wait()
    killed_at, statuses = time.monotonic(), []
    while time.monotonic() - killed_at < FINAL_ANSWER_WITHIN:
        response = post_store(client, auth, body)
        statuses.append(response.status_code)
        if response.status_code == 201:
            break
        time.sleep(0.1)
    assert statuses[-1] == 201, statuses
    assert count(db, Store) == 1


def process_holding_a_lock(database_url: str) -> tuple[subprocess.Popen, int]:
    """Another process that holds an advisory lock, as a server on another host would."""
    lock_id = 1234567890123
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, psycopg\n"
         "connection = psycopg.connect(sys.argv[1], autocommit=True)\n"
         "connection.execute('SELECT pg_advisory_lock(%s)', (int(sys.argv[2]),))\n"
         "print('held', flush=True)\n"
         "time.sleep(120)\n", conninfo, str(lock_id)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder, lock_id


def test_a_request_whose_claim_was_taken_over_creates_nothing(
        client, auth, db, services, monkeypatch):
    """Its process was taken for dead (its lock connection dropped, say)
    while it ran: the claim is another's now, and the create is theirs to make."""
    claim = api.policies.idempotency.claim

    def taken_over_after_claiming(*args):
        outcome = claim(*args)
        with services.database.engine.begin() as connection:
            connection.execute(update(IdempotencyKey).values(claimant=ELSEWHERE))
        return outcome

    monkeypatch.setattr(api.policies.idempotency, "claim", taken_over_after_claiming)
    response = post_store(client, auth, b'{"name":"Twice"}')
    assert_problem(response, 409, "in progress")
    monkeypatch.setattr(api.policies.idempotency, "claim", claim)
    assert count(db, Store) == 0
    row = db.scalars(select(IdempotencyKey).where(IdempotencyKey.key == KEY)).one()
    # Left as the new claimant has it: not released, no answer kept over theirs.
    assert (row.claimant, row.status, row.resource) == (ELSEWHERE, None, None)


def test_the_lock_s_connection_is_tried_again_while_the_database_is_away(monkeypatch):
    import asyncio

    from api.runtime import own_connection

    monkeypatch.setattr(own_connection, "RECONNECT_SECONDS", 0.01)
    away = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"  # refused at once
    claimants, lost = Claimants(away), []
    monkeypatch.setattr(claimants, "_lost", lambda exc: lost.append(exc) or Claimants._lost(
        claimants, exc))

    async def hold_a_while():
        task = asyncio.create_task(claimants.hold_lock(away))
        deadline = asyncio.get_running_loop().time() + 10
        while len(lost) < 3 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(hold_a_while())
    assert len(lost) >= 3  # told each time, and tried again
    assert not claimants.lock_held
    assert claimants.this_process().count(" ") == 2  # no lock named in a claim
