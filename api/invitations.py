"""Invitations to a store: nobody becomes an owner or an editor without
saying yes (models/membership.py). An owner invites a user by username; the
user accepts, and is a member, or declines; an owner may withdraw it; after
INVITATION_DAYS it lapses and is pruned (api/process/pruning.py)."""

from sqlalchemy import delete, func, select

from api.contract.problems import api_problem, conflict, unprocessable
from api.handling.pagination import paginate
from api.handling.persistence import commit_or_409
from api.handling.representations import invitation_json, location, member_json
from api.runtime.request_context import db
from models import MAX_PENDING_INVITATIONS, OWNER, StoreInvitation, StoreMember, User
from models.base import utcnow

ALREADY_INVITED = "this user is invited to store {} already: withdraw that invitation first"
TOO_MANY = (f"store {{}} has {MAX_PENDING_INVITATIONS} pending invitations, the most it may: "
            "withdraw one, or wait for one to be answered or to lapse")


def list_store_invitations(store_id, limit, cursor=None):
    # The store's existence the role check has read.
    return paginate(_pending().where(StoreInvitation.store_id == store_id),
                    StoreInvitation.user_id, limit, cursor, invitation_json)


def invite_store_member(store_id, body, user):
    session = db()
    invitee = session.scalar(
        select(User).where(func.lower(User.username) == body["username"].lower()))
    if invitee is None:
        raise unprocessable("no user has this username")
    member = session.get(StoreMember, (store_id, invitee.id))
    # A member is invited again only to be made an owner.
    if member is not None and (member.role == OWNER or body["role"] != OWNER):
        held = "an owner" if member.role == OWNER else "an editor"
        raise conflict(f"this user is already {held} of store {store_id}")
    # What lapsed makes room; the store's row is locked by the owner's role
    # check, so invitations to one store are counted one after the other.
    now = utcnow()
    session.execute(delete(StoreInvitation).where(
        StoreInvitation.store_id == store_id, StoreInvitation.expires_at <= now))
    pending = session.scalar(select(func.count()).where(StoreInvitation.store_id == store_id))
    if pending >= MAX_PENDING_INVITATIONS:
        raise conflict(TOO_MANY.format(store_id))
    invitation = StoreInvitation(store_id=store_id, user_id=invitee.id, role=body["role"],
                                 invited_by=user, user=invitee)
    session.add(invitation)
    commit_or_409(ALREADY_INVITED.format(store_id))
    return (invitation_json(invitation), 201,
            location(f"stores/{store_id}/invitations", invitee.id))


def withdraw_store_invitation(store_id, user_id):
    _delete_pending(store_id, user_id, f"user {user_id} has no pending invitation to store "
                                        f"{store_id}")
    return None, 204


def list_my_invitations(limit, user, cursor=None):
    return paginate(_pending().where(StoreInvitation.user_id == user),
                    StoreInvitation.store_id, limit, cursor, invitation_json)


def decline_invitation(store_id, user):
    _delete_pending(store_id, user, f"you have no pending invitation to store {store_id}")
    return None, 204


def accept_invitation(store_id, user):
    session = db()
    invitation = session.scalar(
        _pending().where(StoreInvitation.store_id == store_id, StoreInvitation.user_id == user)
        .with_for_update(of=StoreInvitation))
    if invitation is None:
        raise api_problem(404, f"you have no pending invitation to store {store_id}")
    member = session.get(StoreMember, (store_id, user))
    if member is None:
        member = StoreMember(store_id=store_id, user_id=user, role=invitation.role,
                             user=invitation.user)
        session.add(member)
    elif member.role != OWNER:  # an editor invited to own the store
        member.role = invitation.role
    session.delete(invitation)
    commit_or_409(f"you are a member of store {store_id} already")
    return member_json(member), 201, location(f"stores/{store_id}/members", user)


def _pending():
    return select(StoreInvitation).where(StoreInvitation.expires_at > utcnow())


def _delete_pending(store_id: int, user_id: int, missing: str) -> None:
    session = db()
    deleted = session.execute(delete(StoreInvitation).where(
        StoreInvitation.store_id == store_id, StoreInvitation.user_id == user_id,
        StoreInvitation.expires_at > utcnow())).rowcount
    if not deleted:
        raise api_problem(404, missing)
    session.commit()
