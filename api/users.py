from sqlalchemy import select

from api.conditional import check_if_match, conditional_get
from api.errors import conflict, forbidden
from api.pagination import paginate
from api.persistence import get_or_404
from api.representations import user_json
from api.request_context import db
from api.token_view import note_user_changed
from models import User


def get_current_user(user):
    return conditional_get(user_json(get_or_404(User, user, "user")))


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
    if target.is_admin:
        # Lock the admins' rows so two admins cannot delete each other at once.
        admins = session.scalars(
            select(User.id).where(User.is_admin).with_for_update()
        ).all()
        if len(admins) <= 1:
            raise conflict("the last admin cannot be deleted")
    session.delete(target)
    note_user_changed(session, user_id)  # its tokens stop working here at once
    session.commit()
    return None, 204
