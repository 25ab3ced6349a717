"""Strong ETags on single resources: 304 on If-None-Match, 412 on a stale If-Match."""

import re

import pytest

from tests.conftest import API, assert_problem, make_user

SINGLE_RESOURCES = ["/stores/{store}", "/items/{item}", "/tags/{tag}", "/users/me", "/users/{user}"]


def url(template, store, item, tag, user):
    return API + template.format(store=store["id"], item=item["id"], tag=tag["id"], user=user.id)


@pytest.mark.parametrize("template", SINGLE_RESOURCES)
def test_a_single_resource_carries_a_strong_etag_and_answers_304(client, auth, store, item, tag, user, template):
    path = url(template, store, item, tag, user)
    first = client.get(path, headers=auth)
    assert first.status_code == 200
    tag_value = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag_value)
    assert client.get(path, headers=auth).headers["etag"] == tag_value  # stable

    unchanged = client.get(path, headers={**auth, "If-None-Match": tag_value})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == tag_value
    weak_or_listed = client.get(path, headers={**auth, "If-None-Match": f'"other", W/{tag_value}'})
    assert weak_or_listed.status_code == 304
    stale = client.get(path, headers={**auth, "If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.json() == first.json()


def test_the_etag_changes_with_the_representation(client, auth, store):
    path = f"{API}/stores/{store['id']}"
    before = client.get(path, headers=auth).headers["etag"]
    client.post(f"{API}/items", json={"name": "New", "price": "1", "store_id": store["id"]}, headers=auth)
    after = client.get(path, headers={**auth, "If-None-Match": before})
    assert after.status_code == 200  # the item count changed
    assert after.headers["etag"] != before


@pytest.mark.parametrize("kind,body", [
    ("stores", {"name": "Renamed"}),
    ("items", {"name": "Renamed", "price": "2"}),
])
def test_put_honours_if_match(client, auth, store, item, kind, body):
    path = f"{API}/{kind}/{(store if kind == 'stores' else item)['id']}"
    current = client.get(path, headers=auth)
    stale = client.put(path, json=body, headers={**auth, "If-Match": '"not-the-current-one"'})
    assert_problem(stale, 412, "has changed")
    assert client.get(path, headers=auth).json() == current.json()  # untouched

    fresh = client.put(path, json=body, headers={**auth, "If-Match": current.headers["etag"]})
    assert fresh.status_code == 200
    assert fresh.json()["name"] == "Renamed"
    assert fresh.headers["etag"] == client.get(path, headers=auth).headers["etag"]
    # The ETag just used is stale now.
    again = client.put(path, json=body, headers={**auth, "If-Match": current.headers["etag"]})
    assert_problem(again, 412)
    assert client.put(path, json=body, headers={**auth, "If-Match": "*"}).status_code == 200


@pytest.mark.parametrize("kind", ["stores", "items", "tags", "users"])
def test_delete_honours_if_match(client, db, auth, admin_auth, store, item, tag, kind):
    # A user who owns no store: the last owner of one cannot be deleted.
    user = make_user(db, "bob")
    resource_id = {"stores": store["id"], "items": item["id"], "tags": tag["id"], "users": user.id}[kind]
    path = f"{API}/{kind}/{resource_id}"
    stale = client.delete(path, headers={**admin_auth, "If-Match": '"not-the-current-one"'})
    assert_problem(stale, 412)
    assert client.get(path, headers=admin_auth).status_code == 200  # still there
    current = client.get(path, headers=admin_auth).headers["etag"]
    assert client.delete(path, headers={**admin_auth, "If-Match": current}).status_code == 204
    assert client.get(path, headers=admin_auth).status_code == 404


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_if_match_compares_strongly_so_a_weak_tag_is_412(client, auth, store, method):
    # RFC 9110, 13.1.1: If-Match uses the strong comparison; W/"x" never matches.
    path = f"{API}/stores/{store['id']}"
    weak = "W/" + client.get(path, headers=auth).headers["etag"]
    body = {"name": "Renamed"} if method == "PUT" else None
    response = client.request(method, path, json=body, headers={**auth, "If-Match": weak})
    assert_problem(response, 412)
    assert client.get(path, headers=auth).json()["name"] == store["name"]  # nothing written


@pytest.mark.parametrize(("method", "header"), [("GET", "If-None-Match"), ("PUT", "If-Match"),
                                                ("DELETE", "If-Match")])
def test_a_condition_longer_than_its_bound_is_400_naming_it(client, auth, store, method, header):
    """20,000 characters of If-Match or If-None-Match were read and compared."""
    path = f"{API}/stores/{store['id']}"
    body = {"name": "Renamed"} if method == "PUT" else None
    etag = client.get(path, headers=auth).headers["etag"]
    listed = ", ".join(['"x"'] * 300 + [etag])  # the current one, last of 1,500 characters
    response = client.request(method, path, json=body, headers={**auth, header: listed})
    problem = assert_problem(response, 400)
    assert problem["detail"] == f"header parameter '{header}' does not satisfy maxLength 1024"
    assert client.get(path, headers=auth).json()["name"] == store["name"]
