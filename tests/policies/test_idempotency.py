"""Idempotency-Key on creates: a retry gets the first answer and creates
nothing; another body is 422; a twin still running is 409."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from api.policies.idempotency import CLAIM_LEASE
from models import IdempotencyKey, Item, Store, Tag
from tests.conftest import API, assert_problem, bearer, login, make_user
from tests.policies.conftest import KEY, claimed_without_answer, count, post_store


def post(client, auth, path, body, key=KEY):
    return client.post(f"{API}{path}", json=body, headers={**auth, "Idempotency-Key": key})


@pytest.mark.parametrize("path, body, model", [
    ("/stores", {"name": "Second Shop"}, Store),
    ("/items", {"name": "Lamp", "price": "9.5", "store_id": "STORE"}, Item),
    ("/stores/STORE/tags", {"name": "sale"}, Tag),
])
def test_a_retry_gets_the_first_answer_and_creates_nothing(client, auth, db, store, path, body,
                                                          model):
    path = path.replace("STORE", str(store["id"]))
    body = {k: store["id"] if v == "STORE" else v for k, v in body.items()}
    before = count(db, model)
    first = post(client, auth, path, body)
    assert first.status_code == 201, first.text
    again = post(client, auth, path, body)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == "application/json"
    assert count(db, model) == before + 1


def test_the_same_key_with_another_body_is_422(client, auth, db):
    assert post(client, auth, "/stores", {"name": "First"}).status_code == 201
    refused = post(client, auth, "/stores", {"name": "Second"})
    body = assert_problem(refused, 422, "Idempotency-Key")
    assert KEY not in body["detail"]
    assert count(db, Store) == 1


def test_the_same_key_on_another_operation_is_422(client, auth, store):
    assert post(client, auth, f"/stores/{store['id']}/tags", {"name": "a"}).status_code == 201
    assert_problem(post(client, auth, "/stores", {"name": "a"}), 422)


def test_keys_belong_to_their_user(client, auth, db):
    first = post(client, auth, "/stores", {"name": "Mine"})
    make_user(db, "bob")
    bob = bearer(login(client, "bob")["access_token"])
    theirs = post(client, bob, "/stores", {"name": "Bob's"})
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]


def test_a_request_still_running_is_409(client, auth, db, user):
    body = b'{"name":"Twin"}'
    claimed_without_answer(db, user, body)
    # Claimed, no answer kept yet: its twin is refused until it finishes.
    assert_problem(post_store(client, auth, body), 409, "in progress")
    assert count(db, Store) == 0


def test_a_claim_abandoned_past_its_lease_is_taken_over(client, auth, db, user):
    first = post(client, auth, "/stores", {"name": "Lost"})
    assert first.status_code == 201
    # As if the first request's process had died before keeping its answer.
    db.execute(update(IdempotencyKey).values(
        status=None, headers=None, body=None, resource=None,
        created_at=datetime.now(UTC) - CLAIM_LEASE - timedelta(seconds=1)))
    db.commit()
    db.execute(Store.__table__.delete())
    db.commit()
    again = post(client, auth, "/stores", {"name": "Lost"})
    assert again.status_code == 201
    assert count(db, Store) == 1


def test_an_expired_key_starts_afresh(client, auth, db):
    assert post(client, auth, "/stores", {"name": "Old"}).status_code == 201
    db.execute(update(IdempotencyKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    assert post(client, auth, "/stores", {"name": "New"}).status_code == 201
    assert count(db, Store) == 2


def test_a_refused_create_releases_its_key(client, auth, db, store):
    missing = post(client, auth, "/items", {"name": "Lamp", "price": "1", "store_id": 999999})
    assert_problem(missing, 422, "store")
    assert count(db, IdempotencyKey) == 0  # nothing was created: the retry runs afresh
    duplicate = post(client, auth, "/stores", {"name": store["name"]})
    assert_problem(duplicate, 409, "already exists")
    assert count(db, IdempotencyKey) == 0


def test_an_invalid_request_claims_no_key(client, auth, db):
    assert_problem(post(client, auth, "/stores", {"name": ""}), 400)
    assert count(db, IdempotencyKey) == 0


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_400(client, auth, key):
    response = client.post(f"{API}/stores", json={"name": "S"},
                           headers={**auth, "Idempotency-Key": key.encode("utf-8")})
    body = assert_problem(response, 400, "Idempotency-Key")
    assert key not in body["detail"] or not key


def test_without_a_key_every_post_creates(client, auth, db):
    for name in ("A", "B"):
        assert client.post(f"{API}/stores", json={"name": name}, headers=auth).status_code == 201
    assert count(db, IdempotencyKey) == 0


def test_a_replay_answers_as_the_first_even_when_its_store_was_deleted(client, auth, admin_auth):
    # The documented rule ("Retrying creates"): the first answer, as it was.
    first = post(client, auth, "/stores", {"name": "Short-lived"})
    assert first.status_code == 201
    assert client.delete(first.headers["location"], headers=admin_auth).status_code == 204
    again_named = client.post(f"{API}/stores", json={"name": "Short-lived"}, headers=auth)
    assert again_named.status_code == 201
    replay = post(client, auth, "/stores", {"name": "Short-lived"})
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["location"] == first.headers["location"]
    assert_problem(client.get(replay.headers["location"], headers=auth), 404)
    assert again_named.json()["id"] != first.json()["id"]


def dead_process() -> str:
    """The claimant of a process of this host that has ended."""
    import subprocess
    import sys

    from api.policies.claimants import start_time

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    started = start_time(child.pid)
    child.wait()
    return f"{socket.gethostname()} {child.pid} {started}"


@pytest.mark.parametrize("path, body, model", [
    ("/stores", {"name": "Made Once"}, Store),
    ("/items", {"name": "Lamp", "price": "9.5", "store_id": "STORE"}, Item),
    ("/stores/STORE/tags", {"name": "made-once"}, Tag),
])
def test_a_create_whose_process_died_before_its_answer_is_answered_not_made_again(
        client, auth, db, store, path, body, model):
    path = path.replace("STORE", str(store["id"]))
    body = {k: store["id"] if v == "STORE" else v for k, v in body.items()}
    first = post(client, auth, path, body)
    assert first.status_code == 201
    # The create's own transaction noted what it made.
    row = db.scalars(select(IdempotencyKey)).one()
    assert f"{API}/{row.resource}" == first.headers["location"]
    db.rollback()
    # As if its process had been killed after the commit, before keeping the answer.
    db.execute(update(IdempotencyKey).values(status=None, headers=None, body=None,
                                             claimant=dead_process()))
    db.commit()
    before = count(db, model)
    again = post(client, auth, path, body)
    assert again.status_code == 201, again.text
    assert again.headers["location"] == first.headers["location"]
    assert again.json()["id"] == first.json()["id"]
    assert count(db, model) == before  # made once
    assert post(client, auth, path, body).json() == again.json()  # kept from now on


def test_a_claim_of_a_live_process_waits_for_it(client, app, auth, db, user):
    body = b'{"name":"Twin"}'
    claimed_without_answer(db, user, body, claimant=app.services.claimants.this_process())
    assert_problem(post_store(client, auth, body), 409, "in progress")


def test_a_claim_of_a_dead_process_that_made_nothing_runs_afresh_at_once(client, auth, db, user):
    body = b'{"name":"Fresh"}'
    claimed_without_answer(db, user, body, claimant=dead_process())
    assert post_store(client, auth, body).status_code == 201  # well within the lease
    assert count(db, Store) == 1


def test_a_create_that_failed_after_its_commit_is_answered_by_the_next_retry(
        client, auth, db, monkeypatch):
    import api.policies.idempotency

    def lost(*_args):
        raise ConnectionError("the database went away before the answer was kept")

    keep = api.policies.idempotency.keep
    monkeypatch.setattr(api.policies.idempotency, "keep", lost)
    assert post(client, auth, "/stores", {"name": "Committed"}).status_code == 500
    monkeypatch.setattr(api.policies.idempotency, "keep", keep)
    assert count(db, Store) == 1
    again = post(client, auth, "/stores", {"name": "Committed"})
    assert again.status_code == 201
    assert again.json()["name"] == "Committed"
    assert count(db, Store) == 1


def test_a_create_answered_after_its_resource_was_deleted_says_so(client, auth, db, admin_auth):
    first = post(client, auth, "/stores", {"name": "Gone"})
    assert client.delete(first.headers["location"], headers=admin_auth).status_code == 204
    db.execute(update(IdempotencyKey).values(status=None, headers=None, body=None,
                                             claimant=dead_process()))
    db.commit()
    assert_problem(post(client, auth, "/stores", {"name": "Gone"}), 409, "deleted since")
