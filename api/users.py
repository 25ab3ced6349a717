from sqlalchemy import func, select

from api.contract.problems import conflict, forbidden
from api.handling.conditional import check_if_match, conditional_get
from api.handling.pagination import paginate
from api.handling.persistence import get_or_404
from api.handling.representations import user_json
from api.identity.accounts import is_last_admin
from api.identity.security import token_user_gone
from api.identity.token_view import note_user_changed
from api.runtime.request_context import db
from models import OWNER, Store, StoreMember, User


def get_current_user(user):
    current = db().get(User, user)
    if current is None:  # deleted since the token was checked
        raise token_user_gone()
    return conditional_get(user_json(current))


def list_users(limit, cursor=None):
    return paginate(select(User), User.id, limit, cursor, user_json)


def get_user(user_id, user, token_info):
    if user_id != user and "admin" not in token_info["scope"]:
        raise forbidden("only admins may read other accounts")
    return conditional_get(user_json(get_or_404(User, user_id, "user")))


def delete_user(user_id):
    session = db()
    target = get_or_404(User, user_id, "user", lock=True)
    check_if_match(target, user_json, "user")
    if is_last_admin(session, target):
        raise conflict("the last admin cannot be deleted")
    _keep_their_stores_owned(user_id)
    session.delete(target)  # the database removes the user's memberships
    note_user_changed(session, user_id)  # its tokens stop working here at once
    session.commit()
    return None, 204


def _keep_their_stores_owned(user_id: int) -> None:
    """409 when the user is the last owner of a store. The stores they own
    are locked first, in id order, as every change of a store's members
    locks its row (api/members.py)."""
    session = db()
    owned = session.scalars(
        select(Store.id).where(Store.id.in_(
            select(StoreMember.store_id).where(StoreMember.user_id == user_id,
                                               StoreMember.role == OWNER)))
        .order_by(Store.id).with_for_update(key_share=True)).all()
    alone = session.scalars(
        select(StoreMember.store_id)
        .where(StoreMember.store_id.in_(owned), StoreMember.role == OWNER)
        .group_by(StoreMember.store_id).having(func.count() == 1)
        .order_by(StoreMember.store_id)).first()
    if alone is not None:
        raise conflict(f"user {user_id} is the last owner of store {alone}: "
                       "make another member an owner first")
