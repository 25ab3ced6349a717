"""The role in a store an operation needs, as its `x-store-role` declares
(api/contract/spec_policy.py), enforced before its handler runs.

The resolver wraps each such handler with `store_role_required` at start, so
no handler checks a role itself. The check runs in the handler's own
session, inside the transaction that then makes the change:

- an editor's change reads the caller's membership in that transaction;
- an owner's change first locks the store's row (FOR NO KEY UPDATE, which
  item and tag inserts, taking KEY SHARE through their foreign keys, do not
  wait for), then reads the membership. Every change of a store's
  memberships takes the same lock, so the role read is the one that holds
  until commit: two owners demoting each other are served one after the
  other, and the second is no longer an owner.

Admins pass without a read: their flag comes with the token (the `admin`
scope, checked against the database like the token itself).

A replayed Idempotency-Key runs `check_store_role` too (api/policies/idempotency.py):
a stored answer never passes a check the caller would now fail.

Where the store, item or tag does not exist, the answer is the handler's
own: 404 for a path, 422 for a body's `store_id`.
"""

import functools
import inspect
from dataclasses import dataclass

from sqlalchemy import and_, select

from api.contract.problems import forbidden, not_found
from api.contract.spec_policy import StoreRole
from api.handling.persistence import missing_reference
from api.runtime.request_context import current_scope, db
from models import OWNER, Item, Store, StoreMember, Tag


@dataclass(frozen=True)
class Source:
    """Where a rule's `store` is found: the row of `model` whose id the
    handler's `argument` carries (for `body`, as its `store_id`)."""

    model: type
    argument: str
    what: str  # as a problem names it


SOURCES = {
    "path.store_id": Source(Store, "store_id", "store"),
    "body.store_id": Source(Store, "body", "store"),
    "item": Source(Item, "item_id", "item"),
    "tag": Source(Tag, "tag_id", "tag"),
}


@dataclass(frozen=True)
class Caller:
    user_id: int
    is_admin: bool

    @classmethod
    def of(cls, scope) -> "Caller":
        """The token's user, as Connexion's security layer left it on the scope."""
        context = scope["extensions"]["connexion_context"]
        return cls(int(context["user"]), "admin" in context["token_info"]["scope"])


def store_role_required(handler, rule: StoreRole):
    """`handler`, run only for a caller who holds `rule.role` in the store."""
    needed = {SOURCES[rule.store].argument, rule.self_parameter} - {None}
    named = inspect.signature(handler).parameters
    if not needed <= set(named):
        raise TypeError(f"{handler.__qualname__} must take {sorted(needed - set(named))} "
                        "for its x-store-role")

    @functools.wraps(handler)  # Connexion passes the arguments the handler names
    def checked(*args, **kwargs):
        check_store_role(db(), rule, Caller.of(current_scope()), kwargs, kwargs.get("body"))
        return handler(*args, **kwargs)

    return checked


def check_store_role(session, rule: StoreRole, caller: Caller, parameters: dict,
                     body: dict | None, *, missing_passes: bool = False) -> None:
    """403 unless `caller` may act under `rule`; 404 (422 for a body's
    store) when what names the store does not exist, unless `missing_passes`.

    `parameters` are the path parameters by name; `body` the parsed body."""
    if caller.is_admin:
        return
    if rule.self_parameter and parameters[rule.self_parameter] == caller.user_id:
        return  # any member may act on their own membership (the handler 404s others)
    source = SOURCES[rule.store]
    model = source.model
    target_id = body["store_id"] if source.argument == "body" else parameters[source.argument]
    if rule.role == OWNER:
        store_id = _locked_store_id(session, model, target_id)
        role = None if store_id is None else session.scalar(
            select(StoreMember.role).where(StoreMember.store_id == store_id,
                                           StoreMember.user_id == caller.user_id))
    else:
        store_id, role = _store_id_and_role(session, model, target_id, caller.user_id)
    if store_id is None:
        if missing_passes:
            return
        # A body that points at nothing is 422, a path 404, as the handlers answer.
        raise (missing_reference if source.argument == "body" else not_found)(
            source.what, target_id)
    if role is None or rule.role == OWNER and role != OWNER:
        raise forbidden(_needed(rule, store_id))


def _store_id_and_role(session, model, target_id: int, user_id: int) -> tuple:
    """The store's id and the caller's role in it (None: no member), in one
    read; (None, None) when the target does not exist."""
    store_id = model.id if model is Store else model.store_id
    row = session.execute(
        select(store_id, StoreMember.role)
        .outerjoin(StoreMember, and_(StoreMember.store_id == store_id,
                                     StoreMember.user_id == user_id))
        .where(model.id == target_id)).first()
    return tuple(row) if row is not None else (None, None)


def _locked_store_id(session, model, target_id: int) -> int | None:
    """The store's id, its row locked until commit as every change of its
    memberships locks it; None when the target does not exist."""
    query = select(Store.id).with_for_update(key_share=True, of=Store)
    if model is Store:
        return session.scalar(query.where(Store.id == target_id))
    return session.scalar(query.join(model, model.store_id == Store.id)
                          .where(model.id == target_id))


def _needed(rule: StoreRole, store_id: int) -> str:
    roles = "owner role" if rule.role == OWNER else "owner or editor role"
    unless = ", or to be removing yourself" if rule.self_parameter else ""
    return f"this needs the {roles} in store {store_id}, or an admin{unless}"
