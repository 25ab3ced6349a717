"""Rows as the spec's response shapes, and the URLs of resources."""

from datetime import UTC, datetime

from openapi import BASE_PATH


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_json(user) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "is_admin": user.is_admin,
        "created_at": timestamp(user.created_at),
    }


def store_json(store) -> dict:
    return {
        "id": store.id,
        "name": store.name,
        "owner_id": store.owner_id,
        "item_count": store.item_count,
        "tag_count": store.tag_count,
        "created_at": timestamp(store.created_at),
        "updated_at": timestamp(store.updated_at),
    }


def item_json(item) -> dict:
    return {
        "id": item.id,
        "name": item.name,
        # A decimal in a string, always with two places (the spec's Price).
        "price": f"{item.price:.2f}",
        "description": item.description,
        "store_id": item.store_id,
        "tags": [{"id": tag.id, "name": tag.name} for tag in item.tags],
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
    }


def tag_json(tag) -> dict:
    return {
        "id": tag.id,
        "name": tag.name,
        "store_id": tag.store_id,
        "item_count": tag.item_count,
        "created_at": timestamp(tag.created_at),
    }


def member_json(member) -> dict:
    return {
        "user_id": member.user_id,
        "username": member.user.username,
        "role": member.role,
        "added_at": timestamp(member.added_at),
    }


def invitation_json(invitation) -> dict:
    return {
        "store_id": invitation.store_id,
        "store_name": invitation.store.name,
        "user_id": invitation.user_id,
        "username": invitation.user.username,
        "role": invitation.role,
        "invited_by": invitation.invited_by,
        "created_at": timestamp(invitation.created_at),
        "expires_at": timestamp(invitation.expires_at),
    }


def location(collection: str, id_: int) -> dict:
    """The `Location` header of a created resource."""
    return {"Location": f"{BASE_PATH}/{collection}/{id_}"}
