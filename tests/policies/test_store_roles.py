"""Who may change a store, as a table: every operation of the spec that
changes a store's things, called by each kind of caller, against the rule
the contract states. The operations and their requests come from the spec
(a new one is covered when it is added); the rule is written out here, as
the contract's table says it, so the two are checked against each other.

After every refusal, the store, its items, tags and members read as before.
"""

import copy
import re

import pytest
from sqlalchemy import select

from api.contract.spec_policy import READ_METHODS, STORE_SCOPED_PATHS
from models import Item, Store, StoreInvitation, StoreMember, Tag, User, item_tags
from openapi import load_spec
from tests.conftest import (
    API,
    PASSWORD,
    assert_problem,
    assert_unauthorized,
    bearer,
    counting_statements,
    password_hash,
    signed_in,
)

SPEC = load_spec()
OK = "ok"
CALLERS = ("owner", "stale owner", "editor", "stranger", "admin", "stale admin", "anonymous")
# The contract's table, by the role an operation declares (x-store-role).
WHO_MAY = {
    "editor": {"owner": OK, "stale owner": OK, "editor": OK, "stranger": 403,
               "admin": OK, "stale admin": OK, "anonymous": 401},
    "owner": {"owner": OK, "stale owner": 403, "editor": 403, "stranger": 403,
              "admin": OK, "stale admin": 403, "anonymous": 401},
    # Creating a store changes no store: any signed-in caller may.
    None: {caller: 401 if caller == "anonymous" else OK for caller in CALLERS},
}


def changing_operations() -> list[tuple[str, str, dict]]:
    """(path, method, operation) of every operation that changes a store,
    an item, a tag, a link or a membership, or creates a store."""
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or method in READ_METHODS:
                continue
            if path.startswith(STORE_SCOPED_PATHS) or path == "/stores":
                found.append((path, method, operation))
    return found


OPERATIONS = changing_operations()


def test_the_table_covers_every_operation_that_changes_a_store():
    ids = {operation["operationId"] for _, _, operation in OPERATIONS}
    assert ids == {
        "createStore", "replaceStore", "deleteStore", "createStoreTag",
        "inviteStoreMember", "withdrawStoreInvitation", "replaceStoreMember",
        "removeStoreMember",
        "createItem", "replaceItem", "deleteItem", "linkItemTag", "unlinkItemTag",
        "deleteTag",
    }
    for _, _, operation in OPERATIONS:
        assert operation["operationId"] == "createStore" or "x-store-role" in operation


@pytest.fixture
def world(db, user, admin):
    """A store owned by alice (the `user`), with eddie as its editor, carol
    as another editor (invited to own it), an item carrying the tag
    "linked", a tag "spare";
    bob and mallory belong to no store. Written in one transaction, as the
    operations that make them would leave it: the tests are about who may
    change it, a hundred times over."""
    people = {"alice": user, "root": admin,
              **{name: User(username=name, password_hash=password_hash(PASSWORD))
                 for name in ("eddie", "carol", "bob", "mallory")}}
    store = Store(name="Shared Shop")
    db.add_all([*people.values(), store])
    db.flush()
    linked, spare = (Tag(name=name, store_id=store.id) for name in ("linked", "spare"))
    item = Item(name="Lamp", price=5, store_id=store.id, tags=[linked])
    members = [StoreMember(store=store, user=people[name], role=role)
               for name, role in (("alice", "owner"), ("eddie", "editor"), ("carol", "editor"))]
    # Carol is invited to own it too: an invitation to withdraw.
    invitation = StoreInvitation(store_id=store.id, user_id=people["carol"].id, role="owner",
                                 invited_by=user.id)
    db.add_all([linked, spare, item, *members, invitation])
    db.commit()
    return {"store": {"id": store.id}, "item": {"id": item.id}, "linked": {"id": linked.id},
            "spare": {"id": spare.id}, "carol": {"user_id": people["carol"].id},
            "people": people}


def headers_of(services, world: dict, caller: str) -> dict:
    """The caller's token: from a login, or (stale) from a refresh."""
    if caller == "anonymous":
        return {}
    username = {"owner": "alice", "stale owner": "alice", "editor": "eddie",
                "stranger": "mallory", "admin": "root", "stale admin": "root"}[caller]
    pair = signed_in(services, world["people"][username], fresh=not caller.startswith("stale"))
    return bearer(pair["access_token"])


def request_of(path: str, operation: dict, world: dict) -> tuple[str, dict | None]:
    """The operation's URL in the world, and its body: the spec's example."""
    tag = world["linked"] if operation["operationId"] == "unlinkItemTag" else world["spare"]
    url = API + path.format(store_id=world["store"]["id"], item_id=world["item"]["id"],
                            tag_id=tag["id"], user_id=world["carol"]["user_id"])
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    body = copy.deepcopy(content["example"]) if content else None
    if body and "store_id" in body:
        body["store_id"] = world["store"]["id"]
    return url, body


def snapshot(services) -> dict:
    """Every row of the stores, their items, tags, links and members."""
    with services.database.engine.connect() as connection:
        return {table.name: sorted(map(tuple, connection.execute(select(table))))
                for table in (Store.__table__, Item.__table__, Tag.__table__, item_tags,
                              StoreMember.__table__, StoreInvitation.__table__)}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS,
                         ids=[operation["operationId"] for _, _, operation in OPERATIONS])
def test_who_may_change_a_store(client, services, world, path, method, operation, caller):
    rule = operation.get("x-store-role", {}).get("role")
    expected = WHO_MAY[rule][caller]
    url, body = request_of(path, operation, world)
    before = snapshot(services)
    response = client.request(method.upper(), url, json=body, headers=headers_of(services, world, caller))
    if expected == OK:
        success = min(status for status in operation["responses"] if status.startswith("2"))
        assert response.status_code == int(success), response.text
        return
    if expected == 401:
        assert_unauthorized(response)
    else:
        detail = assert_problem(response, 403)["detail"]
        if caller in ("editor", "stranger"):  # a valid, fresh token: the role is what lacks
            assert f"store {world['store']['id']}" in detail
            assert ("owner role" if rule == "owner" else "owner or editor role") in detail
    assert snapshot(services) == before


ROLE_CHECKED = [(path, method, operation) for path, method, operation in OPERATIONS
                if "x-store-role" in operation]
SUBQUERY = re.compile(r"\([^()]*\)")


def table_read(statement: str) -> str | None:
    """The table a SELECT reads from, its subqueries (a store's counts) aside."""
    while SUBQUERY.search(statement):
        statement = SUBQUERY.sub("", statement)
    found = re.search(r"\bFROM (\w+)", statement)
    return found.group(1) if statement.startswith("SELECT") and found else None


@pytest.mark.parametrize("caller", ["owner", "admin"])
@pytest.mark.parametrize(("path", "method", "operation"), ROLE_CHECKED,
                         ids=[operation["operationId"] for _, _, operation in ROLE_CHECKED])
def test_a_change_reads_each_row_once_the_role_check_hands_it_over(
        client, services, world, path, method, operation, caller):
    """One read per fact: what the role check read (the store, item or tag,
    with the lock the change needs) the handler is given, not read again."""
    url, body = request_of(path, operation, world)
    headers = headers_of(services, world, caller)
    with counting_statements(services.database) as statements:
        response = client.request(method.upper(), url, json=body, headers=headers)
    assert response.status_code < 300, response.text
    # A role kept (an editor made an editor) writes nothing: every read counts.
    changed = next((n for n, s in enumerate(statements)
                    if s.startswith(("INSERT", "UPDATE", "DELETE"))), len(statements))
    # The store, item or tag: read once. Memberships are other facts, one
    # per user (the caller's role, the member changed) and their count.
    tables = [table_read(s) for s in statements[:changed] if "revoked_tokens" not in s]
    rows = [table for table in tables if table not in (None, "users", "store_members")]
    assert len(rows) == len(set(rows)), statements[:changed]


def test_what_does_not_exist_is_404_or_422_for_anyone(client, stranger_auth):
    assert_problem(client.put(f"{API}/items/999", json={"name": "x", "price": "1"}, headers=stranger_auth),
                   404, "item 999 does not exist")
    assert_problem(client.delete(f"{API}/tags/999", headers=stranger_auth), 404, "tag 999 does not exist")
    assert_problem(client.put(f"{API}/stores/999", json={"name": "x"}, headers=stranger_auth),
                   404, "store 999 does not exist")
    assert_problem(client.delete(f"{API}/stores/999/members/1", headers=stranger_auth),
                   404, "store 999 does not exist")
    assert_problem(client.post(f"{API}/items", json={"name": "x", "price": "1", "store_id": 999},
                               headers=stranger_auth), 422, "store 999 does not exist")


def test_a_handler_that_cannot_be_given_its_store_is_refused_at_start():
    from api.contract.spec_policy import OperationPolicy, StoreRole
    from api.policies.store_roles import store_role_required

    def rename_thing(thing_id, body):
        pass

    policy = OperationPolicy("renameThing", "PUT", "/items/{item_id}",
                             store_role=StoreRole("item", "editor"))
    with pytest.raises(TypeError, match=r"must take \['item_id'\] for its x-store-role"):
        store_role_required(rename_thing, policy)
