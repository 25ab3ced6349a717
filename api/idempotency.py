"""Idempotency-Key on creates (IETF httpapi idempotency-key draft).

For an operation whose spec takes the `Idempotency-Key` header, the first
request with a key claims it for its user (a row with no answer yet), runs,
and keeps its answer: status, headers and body, for 24 hours. A retry with the
same key and the same method, path and body gets that answer again; with
anything else it is 422; while the first is still running it is 409.

The answer is kept before it is sent, so a client whose connection dropped
gets it on its retry. A request that ends in an exception or a 5xx releases
the key: nothing was created, and the retry runs afresh. A claim whose request
died with its process is taken over after CLAIM_LEASE.

It sits after request validation (only valid requests claim keys) and the
security layer (the key belongs to the token's user). Before a stored answer
is replayed, the operation's store role is checked again
(api/authorization/store_roles.py): a caller who has since lost the role
gets 403, not the answer.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.authorization.store_roles import Caller, check_store_role
from api.errors import api_problem
from api.request_context import handler_threads_of, services_of
from api.spec_policy import IDEMPOTENCY_HEADER, OperationPolicy, StoreRole, routed_operation
from models import IdempotencyKey

KEPT_FOR = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)
HEADER = IDEMPOTENCY_HEADER.lower().encode()
# Set by layers inside this one; the outer ones (request id, rate limits) add theirs again.
KEPT_HEADERS = {b"content-type", b"location", b"etag"}


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


CLAIMED, IN_FLIGHT, OTHER_REQUEST = "claimed", "in flight", "other request"


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
        fingerprint = request_fingerprint(scope["method"], scope["path"], body)
        database, threads = services_of(scope).database, handler_threads_of(scope)
        outcome = await threads.run(claim, database, user_id, key, fingerprint)
        if outcome == OTHER_REQUEST:
            raise api_problem(422, "this Idempotency-Key was used for a different request")
        if outcome == IN_FLIGHT:
            raise api_problem(409, "a request with this Idempotency-Key is still in progress")
        if isinstance(outcome, Stored):
            rule = self.policies[operation_id].store_role
            if rule is not None:
                await threads.run(check_replay, database, rule, scope, body)
            return await _replay(outcome, send)

        start, chunks = None, []

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, _replaying(body), capture)
        except BaseException:
            await threads.run(release, database, user_id, key)
            raise
        answer = Stored(start["status"], [(k, v) for k, v in start.get("headers", [])
                                          if k.lower() in KEPT_HEADERS], b"".join(chunks))
        if answer.status >= 500:
            await threads.run(release, database, user_id, key)
        else:
            await threads.run(keep, database, user_id, key, answer)
        await send(start)
        await send({"type": "http.response.body", "body": answer.body})


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


def claim(database, user_id: int, key: str, fingerprint: str):
    """CLAIMED, IN_FLIGHT, OTHER_REQUEST or the Stored answer of the first request."""
    this = (IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key)
    for _ in range(3):  # a row can expire or be released between two of these steps
        now = datetime.now(UTC)
        with database.session() as session:
            try:
                session.execute(insert(IdempotencyKey).values(
                    user_id=user_id, key=key, fingerprint=fingerprint,
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
            if row.fingerprint != fingerprint:
                return OTHER_REQUEST
            if row.status is not None:
                return Stored(row.status, [(k.encode(), v.encode())
                                           for k, v in json.loads(row.headers)], row.body)
            if row.created_at > now - CLAIM_LEASE:
                return IN_FLIGHT
            taken = session.execute(update(IdempotencyKey).where(
                this, IdempotencyKey.status.is_(None),
                IdempotencyKey.created_at == row.created_at).values(created_at=now))
            session.commit()
            return CLAIMED if taken.rowcount == 1 else IN_FLIGHT
    return IN_FLIGHT


def check_replay(database, rule: StoreRole, scope, body: bytes) -> None:
    """The store role check of the first request, made again now. The store
    may be gone since: that refuses nothing, the first answer is replayed."""
    with database.session() as session:
        check_store_role(session, rule, Caller.of(scope), scope.get("path_params", {}),
                         json.loads(body) if rule.store == "body.store_id" else None,
                         missing_passes=True)


def keep(database, user_id: int, key: str, answer: Stored) -> None:
    headers = json.dumps([(k.decode("latin-1"), v.decode("latin-1"))
                          for k, v in answer.headers])
    with database.session() as session:
        session.execute(update(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
        ).values(status=answer.status, headers=headers, body=answer.body))
        session.commit()


def release(database, user_id: int, key: str) -> None:
    with database.session() as session:
        session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
            IdempotencyKey.status.is_(None)))
        session.commit()
