"""Idempotency-Key on creates (IETF httpapi idempotency-key draft).

For an operation whose spec takes the `Idempotency-Key` header, the first
request with a key claims it for its user (a row with no answer yet), runs,
and keeps its answer: status, headers and body, for 24 hours. A retry with the
same key and the same method, path and body gets that answer again; with
anything else it is 422; while the first is still running it is 409.

The answer is kept before it is sent, so a client whose connection dropped
gets it on its retry. A request that ends in an exception or a 5xx before
creating anything releases the key, and the retry runs afresh.

A crash cannot make a retry create twice. The create's own transaction
records, on the key's row, the path of what it made (`record_creations`: a
flush of the handler's session that inserts a store, an item or a tag).
So a request that died after its create committed, but before its answer
was kept, left that path. A retry then gets 201 with the path in `Location`
and the resource as it reads now, instead of running the create again.

A claim names its process (api/policies/claimants.py). A retry that finds
that process dead takes the claim over at once: on this host, or on any
host on PostgreSQL. Otherwise a claim is taken over after CLAIM_LEASE. A
create commits only while its claim is still its own: a request whose claim
was taken over meanwhile creates nothing and answers 409.

It sits after request validation (only valid requests claim keys) and the
security layer (the key belongs to the token's user). Before a stored answer
is replayed, the operation's store role is checked again
(api/policies/store_roles.py): a caller who has since lost the role
gets 403, not the answer.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.contract.json_out import dumps_bytes
from api.contract.problems import api_problem
from api.contract.spec_policy import (
    IDEMPOTENCY_HEADER,
    OperationPolicy,
    StoreRole,
    routed_operation,
)
from api.handling.representations import item_json, store_json, tag_json
from api.policies.claimants import RELEASED
from api.policies.store_roles import Caller, Check, check_store_role
from api.runtime.metrics import IDEMPOTENCY_KEYS
from api.runtime.request_context import current_scope, handler_threads_of, services_of
from models import WITH_TAGS, IdempotencyKey, Item, Store, Tag
from openapi import BASE_PATH

KEPT_FOR = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)
HEADER = IDEMPOTENCY_HEADER.lower().encode()
# Set by layers inside this one; the outer ones (request id, rate limits) add theirs again.
KEPT_HEADERS = {b"content-type", b"location", b"etag"}
# Where a request's claim waits for its create's transaction (record_creations).
CLAIM_STATE = "idempotency_claim"
# What a keyed create makes, by the path it lives at.
CREATED = {Store: ("stores", store_json, ()), Item: ("items", item_json, (WITH_TAGS,)),
           Tag: ("tags", tag_json, ())}
BY_COLLECTION = {path: (model, render, options)
                 for model, (path, render, options) in CREATED.items()}


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


CLAIMED, IN_FLIGHT, OTHER_REQUEST = "claimed", "in flight", "other request"
IN_PROGRESS = "a request with this Idempotency-Key is still in progress"
# The first request's create committed, but what it made is gone since.
CREATED_THEN_DELETED = "created, then deleted"


class IdempotencyMiddleware:
    """For the operations of `policies` (their creates that take a key)."""

    def __init__(self, app, policies: dict[str, OperationPolicy]):
        self.app = app
        self.policies = policies

    async def __call__(self, scope, receive, send):
        operation_id = routed_operation(scope)
        key = _header(scope) if operation_id in self.policies else None
        user_id = scope.get("state", {}).get("user_id")
        if key is None or user_id is None:
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        services, threads = services_of(scope), handler_threads_of(scope)
        claimed = (user_id, key, services.claimants.this_process())
        outcome = await threads.run(
            claim, services.database, services.claimants, *claimed,
            request_fingerprint(scope["method"], scope["path"], body))
        if isinstance(outcome, Stored):
            rule = self.policies[operation_id].store_role
            if rule is not None:  # a stored answer never passes a check the caller now fails
                await threads.run(check_replay, services.database, rule, scope, body)
            IDEMPOTENCY_KEYS.labels("replayed").inc()
            return await _replay(outcome, send)
        _refuse_unless_claimed(outcome)
        scope["state"][CLAIM_STATE] = claimed
        await self._run_and_keep(scope, body, send, claimed)

    async def _run_and_keep(self, scope, body: bytes, send, claimed: tuple) -> None:
        """Run the create, keep its answer under the key (or free the key
        for a retry when it failed), then send the answer."""
        database, threads = services_of(scope).database, handler_threads_of(scope)
        start, chunks = None, []

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, _replaying(body), capture)
            answer = Stored(start["status"], [(k, v) for k, v in start.get("headers", [])
                                              if k.lower() in KEPT_HEADERS], b"".join(chunks))
            if answer.status >= 500:
                await threads.run(release, database, *claimed)
            else:
                await threads.run(keep, database, *claimed, answer)
        except BaseException:
            # Whatever failed: a retry runs afresh, or answers what was made.
            await threads.run(release, database, *claimed)
            raise
        await send(start)
        await send({"type": "http.response.body", "body": answer.body})


def _refuse_unless_claimed(outcome) -> None:
    if outcome == OTHER_REQUEST:
        IDEMPOTENCY_KEYS.labels("unprocessable").inc()
        raise api_problem(422, "this Idempotency-Key was used for a different request")
    if outcome == IN_FLIGHT:
        IDEMPOTENCY_KEYS.labels("conflict").inc()
        raise api_problem(409, IN_PROGRESS)
    if outcome == CREATED_THEN_DELETED:
        IDEMPOTENCY_KEYS.labels("conflict").inc()
        raise api_problem(409, "what this request created has been deleted since")


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What a retry must repeat exactly: the method, the path and the body's bytes."""
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


def _header(scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("latin-1")
    return None


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replaying(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _replay(stored: Stored, send) -> None:
    headers = [(k, v) for k, v in stored.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


def claim(database, claimants, user_id: int, key: str, claimant: str, fingerprint: str):
    """CLAIMED (for `claimant`), IN_FLIGHT, OTHER_REQUEST, CREATED_THEN_DELETED
    or the Stored answer of the first request."""
    this = (IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key)
    for _ in range(3):  # a row can expire or be released between two of these steps
        now = datetime.now(UTC)
        with database.session() as session:
            try:
                session.execute(insert(IdempotencyKey).values(
                    user_id=user_id, key=key, fingerprint=fingerprint, claimant=claimant,
                    created_at=now, expires_at=now + KEPT_FOR))
                session.commit()
                return CLAIMED
            except IntegrityError:
                session.rollback()
            row = session.scalars(select(IdempotencyKey).where(this)).one_or_none()
            if row is None:
                continue
            if row.expires_at <= now:
                session.execute(delete(IdempotencyKey).where(
                    this, IdempotencyKey.expires_at <= now))
                session.commit()
                continue
            return _claim_of_a_kept_key(session, claimants, row, fingerprint, claimant, now)
    return IN_FLIGHT


def _claim_of_a_kept_key(session, claimants, row: IdempotencyKey, fingerprint: str,
                         claimant: str, now: datetime):
    """What a request meets under a key that another holds, or held and left."""
    if row.fingerprint != fingerprint:
        return OTHER_REQUEST
    if row.status is not None:
        return Stored(row.status, [(k.encode(), v.encode())
                                   for k, v in json.loads(row.headers)], row.body)
    if row.created_at > now - CLAIM_LEASE and not claimants.is_gone(session, row.claimant):
        return IN_FLIGHT
    return _take_over(session, row, claimant, now)


def _take_over(session, row: IdempotencyKey, claimant: str, now: datetime):
    """The claim of a process that is gone (or whose lease ran out): taken
    by `claimant` unless another took it first; what its create made, if it
    committed, is answered, not made again."""
    this = (IdempotencyKey.user_id == row.user_id) & (IdempotencyKey.key == row.key)
    taken = session.execute(update(IdempotencyKey).where(
        this, IdempotencyKey.status.is_(None), IdempotencyKey.created_at == row.created_at,
    ).values(created_at=now, claimant=claimant))
    session.commit()
    if taken.rowcount != 1:
        return IN_FLIGHT
    if row.resource is None:
        return CLAIMED  # nothing was created: run afresh
    answer = answer_of_created(session, row.resource)
    if answer is None:
        session.execute(update(IdempotencyKey).where(this).values(claimant=RELEASED))
        session.commit()
        return CREATED_THEN_DELETED
    _keep_in(session, row.user_id, row.key, claimant, answer)
    session.commit()
    return answer


def answer_of_created(session, resource: str) -> Stored | None:
    """The answer of a create that committed but whose answer was never
    kept: 201, its `Location`, and the resource as it reads now; None when
    it has been deleted since."""
    collection, _, id_text = resource.partition("/")
    model, render, options = BY_COLLECTION[collection]
    row = session.get(model, int(id_text), options=options)
    if row is None:
        return None
    location = f"{BASE_PATH}/{resource}".encode()
    return Stored(201, [(b"content-type", b"application/json"), (b"location", location)],
                  dumps_bytes(render(row)))


def record_creations(database) -> None:
    """In the transaction that creates a store, an item or a tag for a
    request that claimed a key, note its path on the key's row: the two
    commit together or not at all. A claim taken over meanwhile (its
    process was thought dead) is no longer this request's: it creates
    nothing, and answers as a retry would."""

    @event.listens_for(database.sessionmaker, "after_flush")
    def created(session, _flush_context):
        try:
            request_scope = current_scope()
        except (LookupError, RuntimeError):  # not a handler's session
            return
        state = request_scope.get("state", {})
        if CLAIM_STATE not in state:
            return
        made = next((obj for obj in session.new if type(obj) in CREATED), None)
        if made is None:
            return
        user_id, key, claimant = state.pop(CLAIM_STATE)
        noted = session.connection().execute(update(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
            IdempotencyKey.status.is_(None), IdempotencyKey.claimant == claimant,
        ).values(resource=f"{CREATED[type(made)][0]}/{made.id}"))
        if noted.rowcount != 1:
            raise api_problem(409, IN_PROGRESS)


def check_replay(database, rule: StoreRole, scope, body: bytes) -> None:
    """The store role check of the first request, made again now. The store
    may be gone since: that refuses nothing, the first answer is replayed."""
    with database.session() as session:
        check_store_role(session, Check(rule), Caller.of(scope), scope.get("path_params", {}),
                         json.loads(body) if rule.store == "body.store_id" else None,
                         missing_passes=True)


def keep(database, user_id: int, key: str, claimant: str, answer: Stored) -> None:
    with database.session() as session:
        _keep_in(session, user_id, key, claimant, answer)
        session.commit()


def _keep_in(session, user_id: int, key: str, claimant: str, answer: Stored) -> None:
    """The answer, kept while the claim is still this request's."""
    headers = json.dumps([(k.decode("latin-1"), v.decode("latin-1"))
                          for k, v in answer.headers])
    session.execute(update(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
        IdempotencyKey.claimant == claimant,
    ).values(status=answer.status, headers=headers, body=answer.body))


def release(database, user_id: int, key: str, claimant: str) -> None:
    """After a failure: the key is free again, unless the create committed;
    then its row stays, claimed by no one, for the next retry to answer.
    A claim taken over meanwhile is left to its new claimant."""
    this = (IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key) \
        & IdempotencyKey.status.is_(None) & (IdempotencyKey.claimant == claimant)
    with database.session() as session:
        session.execute(delete(IdempotencyKey).where(this, IdempotencyKey.resource.is_(None)))
        session.execute(update(IdempotencyKey).where(this).values(claimant=RELEASED))
        session.commit()
