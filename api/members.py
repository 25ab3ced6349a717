"""A store's owners and editors. Who may call each operation is declared in
the spec (`x-store-role`) and checked before these run; what is left here
is the one rule of the data: a store that has an owner keeps one.

Every change runs with the store's row locked (FOR NO KEY UPDATE, by the
role check of an owner's operation, for whoever calls), so the changes of
one store's members are made one at a time, each counting the owners the
others left.
"""

from sqlalchemy import func, select

from api.contract.problems import api_problem, conflict
from api.handling.pagination import paginate
from api.handling.representations import member_json
from api.runtime.request_context import db
from models import OWNER, StoreMember

LAST_OWNER = ("store {} would be left without an owner: invite another member to own it, "
              "and wait for their yes")


def list_store_members(store_id, limit, cursor=None):
    # The store's existence the role check has read.
    query = select(StoreMember).where(StoreMember.store_id == store_id)
    return paginate(query, StoreMember.user_id, limit, cursor, member_json)


def get_store_member(store_id, user_id):
    return member_json(_member_or_404(store_id, user_id))


def replace_store_member(store_id, user_id, body):
    member = _member_or_404(store_id, user_id)
    if member.role != OWNER and body["role"] == OWNER:
        # An owner's duties are taken on by saying yes (api/invitations.py).
        raise conflict(f"an editor becomes an owner by accepting an invitation: "
                       f"POST /stores/{store_id}/invitations")
    if member.role == OWNER and body["role"] != OWNER:
        _keep_an_owner_besides(member)
    member.role = body["role"]
    db().commit()
    return member_json(member)


def remove_store_member(store_id, user_id):
    member = _member_or_404(store_id, user_id)
    if member.role == OWNER:
        _keep_an_owner_besides(member)
    db().delete(member)
    db().commit()
    return None, 204


def _member_or_404(store_id: int, user_id: int) -> StoreMember:
    member = db().get(StoreMember, (store_id, user_id))
    if member is None:
        raise api_problem(404, f"user {user_id} is not a member of store {store_id}")
    return member


def _keep_an_owner_besides(member: StoreMember) -> None:
    owners = db().scalar(select(func.count()).where(
        StoreMember.store_id == member.store_id, StoreMember.role == OWNER))
    if owners <= 1:
        raise conflict(LAST_OWNER.format(member.store_id))
