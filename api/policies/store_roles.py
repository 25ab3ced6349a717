"""The role in a store an operation needs, as its `x-store-role` declares
(api/contract/spec_policy.py), enforced before its handler runs.

The resolver wraps each such handler with `store_role_required` at start, so
no handler checks a role itself. The check runs in the handler's own
session, inside the transaction that then makes the change, and reads each
fact once: the row the rule names (the store, item or tag), with the lock
the change needs, is handed to the handler, which asks for it by name
(`def replace_item(item_id, body, item)`) and never reads it again.

- an editor's change reads the row and the caller's membership in one
  statement; a change of the row itself (PUT or DELETE of its own path)
  locks it FOR UPDATE there, and a change of what it holds (PUT or DELETE
  below its path: an item's tags) FOR NO KEY UPDATE, so that changes of
  one item's tags are counted one after the other;
- an owner's change first locks the store's row (FOR NO KEY UPDATE, which
  item and tag inserts, taking KEY SHARE through their foreign keys, do not
  wait for; FOR UPDATE when the store itself goes), then reads the
  membership in a statement of its own, which PostgreSQL runs after the
  lock is granted. Every change of a store's memberships takes the same
  lock, so the role read is the one that holds until commit: two owners
  demoting each other are served one after the other, and the second is no
  longer an owner.

Admins, and members acting on their own membership, skip the membership
read, not the row's: their flag comes with the token (the `admin` scope,
checked against the database like the token itself).

A replayed Idempotency-Key runs `check_store_role` too (api/policies/idempotency.py):
a stored answer never passes a check the caller would now fail.

Where the store, item or tag does not exist, the answer is 404 for a path,
422 for a body's `store_id`, for any caller.
"""

import functools
import inspect
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select

from api.contract.problems import forbidden, not_found
from api.contract.spec_policy import OperationPolicy, StoreRole
from api.handling.persistence import missing_reference
from api.runtime.request_context import current_scope, db
from models import LOCKED_WITH_TAGS, OWNER, Item, Store, StoreMember, Tag

# The lock a rule's row is read with, as PostgreSQL names them (SQLite's
# transactions take the database's write lock whole).
UNLOCKED, FOR_NO_KEY_UPDATE, FOR_UPDATE = "none", "for no key update", "for update"


@dataclass(frozen=True)
class Source:
    """Where a rule's `store` is found: the row of `model` whose id the
    handler's `argument` carries (for `body`, as its `store_id`)."""

    model: type
    argument: str
    what: str  # as a problem names it, and as a handler asks for the row
    # How a row locked FOR UPDATE is loaded: an item with its tags, to show it.
    locked_options: tuple = ()

    @property
    def store_id(self):
        return self.model.id if self.model is Store else self.model.store_id


SOURCES = {
    "path.store_id": Source(Store, "store_id", "store"),
    "body.store_id": Source(Store, "body", "store"),
    "item": Source(Item, "item_id", "item", (LOCKED_WITH_TAGS,)),
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


@dataclass(frozen=True)
class Check:
    """A rule as one operation applies it: with the lock its change needs,
    and the whole row when its handler asks for it (else its id alone)."""

    rule: StoreRole
    lock: str = UNLOCKED
    hands_row: bool = False

    @classmethod
    def of(cls, policy: OperationPolicy, hands_row: bool) -> "Check":
        rule, source = policy.store_role, SOURCES[policy.store_role.store]
        changes = policy.method in ("PUT", "DELETE")
        row_path = "{" + source.argument + "}"
        if changes and policy.path.endswith(row_path):
            lock = FOR_UPDATE  # the row itself
        elif (changes and row_path + "/" in policy.path) or rule.role == OWNER:
            lock = FOR_NO_KEY_UPDATE  # what it holds, or its store's members
        else:
            lock = UNLOCKED
        return cls(rule, lock, hands_row)


def store_role_required(handler, policy: OperationPolicy):
    """`handler`, run only for a caller who holds the policy's role in the
    store; given the row the check read when it asks for it by name."""
    source = SOURCES[policy.store_role.store]
    named = inspect.signature(handler).parameters
    needed = {source.argument, policy.store_role.self_parameter} - {None}
    if not needed <= set(named):
        raise TypeError(f"{handler.__qualname__} must take {sorted(needed - set(named))} "
                        "for its x-store-role")
    hands_row = source.what in named
    check = Check.of(policy, hands_row)

    @functools.wraps(handler)  # Connexion passes the arguments the handler names
    def checked(*args, **kwargs):
        row = check_store_role(db(), check, Caller.of(current_scope()), kwargs,
                               kwargs.get("body"))
        if hands_row:
            kwargs[source.what] = row
        return handler(*args, **kwargs)

    checked.__signature__ = inspect.signature(handler).replace(parameters=[
        parameter for name, parameter in named.items() if name != source.what or not hands_row])
    return checked


def check_store_role(session, check: Check, caller: Caller, parameters: dict,
                     body: dict | None, *, missing_passes: bool = False):
    """The rule's row (its id, unless the check hands the row), read with
    the check's lock: 403 unless `caller` may act under the rule; 404 (422
    for a body's store) when the row does not exist, unless `missing_passes`
    (then None).

    `parameters` are the path parameters by name; `body` the parsed body."""
    rule, source = check.rule, SOURCES[check.rule.store]
    target_id = body["store_id"] if source.argument == "body" else parameters[source.argument]
    acting_on_self = bool(rule.self_parameter) \
        and parameters[rule.self_parameter] == caller.user_id
    asks_role = not caller.is_admin and not acting_on_self
    if rule.role == OWNER:
        row, store_id, _ = _locked_for_owner(session, check, source, target_id)
        role = _role(session, store_id, caller.user_id) if row is not None and asks_role \
            else None
    else:
        row, store_id, role = _row_and_role(session, check, source, target_id,
                                            caller.user_id if asks_role else None)
    if row is None:
        if missing_passes:
            return None
        # A body that points at nothing is 422, a path 404, for anyone.
        raise (missing_reference if source.argument == "body" else not_found)(
            source.what, target_id)
    if asks_role and (role is None or rule.role == OWNER and role != OWNER):
        raise forbidden(_needed(rule, store_id))
    return row


def _row_and_role(session, check: Check, source: Source, target_id: int,
                  user_id: int | None) -> tuple:
    """(row, its store's id, `user_id`'s role in that store) in one
    statement: the row (or its id) with the check's lock; the role when
    `user_id` is given (None: no member). (None, None, None) when the row
    does not exist."""
    with_role = user_id is not None
    parameters = {"target_id": target_id, **({"user_id": user_id} if with_role else {})}
    found = session.execute(_row_and_role_statement(check, with_role), parameters) \
        .unique().first()
    if found is None:
        return None, None, None
    return found[0], found[1], found[2] if with_role else None


# Each statement is built once, for the check it serves: building one costs
# SQLAlchemy more than running it does (about 9% of a PUT of an item).
@functools.cache
def _row_and_role_statement(check: Check, with_role: bool):
    source = SOURCES[check.rule.store]
    model = source.model
    query = select(model if check.hands_row else model.id, source.store_id) \
        .where(model.id == bindparam("target_id"))
    if check.hands_row and check.lock == FOR_UPDATE:  # to be changed, and shown
        query = query.options(*source.locked_options)
    if with_role:
        query = query.add_columns(StoreMember.role).outerjoin(StoreMember, and_(
            StoreMember.store_id == source.store_id,
            StoreMember.user_id == bindparam("user_id")))
    if check.lock != UNLOCKED:
        # OF the row's own table: a joined membership or tag is not locked.
        query = query.with_for_update(of=model, key_share=check.lock == FOR_NO_KEY_UPDATE)
    return query


def _locked_for_owner(session, check: Check, source: Source, target_id: int) -> tuple:
    """The rule's row and its store's id, the store's row locked until
    commit as every change of its memberships locks it; (None, None) when
    the row does not exist."""
    if source.model is Store:
        return _row_and_role(session, check, source, target_id, None)
    # The store's row first, then the tag's: deleting a store locks them in that order.
    store_id = session.scalar(_store_lock_statement(source.model), {"target_id": target_id})
    if store_id is None:
        return None, None, None
    return _row_and_role(session, check, source, target_id, None)


@functools.cache
def _store_lock_statement(model: type):
    return select(Store.id).join(model, model.store_id == Store.id) \
        .where(model.id == bindparam("target_id")).with_for_update(key_share=True, of=Store)


_ROLE = select(StoreMember.role).where(StoreMember.store_id == bindparam("store_id"),
                                       StoreMember.user_id == bindparam("user_id"))


def _role(session, store_id: int, user_id: int) -> str | None:
    return session.scalar(_ROLE, {"store_id": store_id, "user_id": user_id})


def _needed(rule: StoreRole, store_id: int) -> str:
    roles = "owner role" if rule.role == OWNER else "owner or editor role"
    unless = ", or to be removing yourself" if rule.self_parameter else ""
    return f"this needs the {roles} in store {store_id}, or an admin{unless}"
