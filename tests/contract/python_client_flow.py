"""The whole flow through the installed stores-api-client wheel, run by the
Python of a fresh virtual environment that holds only that wheel and its
dependencies: STORES_API_URL names the live server's API root."""

import os
from importlib.metadata import version

from stores_client import AuthenticatedClient, Client
from stores_client.api.auth import login, logout, refresh_tokens, register
from stores_client.api.items import create_item, link_item_tag, list_items
from stores_client.api.stores import (
    create_store,
    create_store_tag,
    invite_store_member,
    list_stores,
    replace_store,
)
from stores_client.api.users import accept_invitation, get_current_user, list_my_invitations
from stores_client.models import (
    Credentials,
    ItemCreate,
    LogoutRequestType0,
    MemberFilter,
    MemberInput,
    Problem,
    Store,
    StoreInput,
    StoreRole,
    TagInput,
    TokenPair,
    User,
)


def main(server: str) -> None:
    anonymous = Client(base_url=server)
    credentials = Credentials(username="generated", password="generated-password")
    registered = register.sync_detailed(client=anonymous, body=credentials)
    assert registered.status_code == 201 and isinstance(registered.parsed, User)

    pair = login.sync(client=anonymous, body=credentials)
    assert isinstance(pair, TokenPair)
    client = AuthenticatedClient(base_url=server, token=pair.access_token)

    store = create_store.sync(client=client, body=StoreInput(name="Generated"))
    items = [
        create_item.sync(
            client=client, body=ItemCreate(name=f"Thing {n}", price=f"{n}.25", store_id=store.id)
        )
        for n in range(5)
    ]
    # Prices are decimals in strings: exact, and written back with two places.
    assert [item.price for item in items] == ["0.25", "1.25", "2.25", "3.25", "4.25"]
    # Every price from 0.00 to 100.00, and the largest, goes out and comes
    # back through the client's models as written: no float on the way.
    answered = items[0].to_dict()
    for price in [f"{cents // 100}.{cents % 100:02d}" for cents in range(10_001)] + \
            ["999999999.99", "1000000000.00"]:
        assert ItemCreate(name="x", price=price, store_id=1).to_dict()["price"] == price
        assert type(items[0]).from_dict({**answered, "price": price}).price == price
    tag = create_store_tag.sync(client=client, store_id=store.id, body=TagInput(name="new"))
    linked = link_item_tag.sync_detailed(client=client, item_id=items[0].id, tag_id=tag.id)
    assert linked.status_code == 204

    seen, cursor = [], None
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = list_items.sync(client=client, store_id=store.id, limit=2, **kwargs)
        seen += [item.id for item in page.data]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [item.id for item in items]
    tagged = list_items.sync(client=client, tag_id=tag.id)
    assert [t.name for t in tagged.data[0].tags] == ["new"]
    share_the_store(server, anonymous, client, store)

    refreshed = refresh_tokens.sync(
        client=AuthenticatedClient(base_url=server, token=pair.refresh_token)
    )
    assert isinstance(refreshed, TokenPair)
    client = AuthenticatedClient(base_url=server, token=refreshed.access_token)
    assert get_current_user.sync(client=client).username == "generated"

    logged_out = logout.sync_detailed(
        client=client, body=LogoutRequestType0(refresh_token=refreshed.refresh_token)
    )
    assert logged_out.status_code == 204
    refused = get_current_user.sync_detailed(client=client)
    assert refused.status_code == 401 and isinstance(refused.parsed, Problem)
    assert refused.headers["www-authenticate"] == "Bearer"


def share_the_store(server: str, anonymous: Client, owner: AuthenticatedClient, store) -> None:
    """Another user reads the store, is refused a change, and may change it
    once the owner has invited them as an editor and they have accepted."""
    helper = Credentials(username="generated-helper", password="generated-password")
    assert register.sync_detailed(client=anonymous, body=helper).status_code == 201
    other = AuthenticatedClient(base_url=server,
                                token=login.sync(client=anonymous, body=helper).access_token)
    refused = replace_store.sync_detailed(client=other, store_id=store.id,
                                          body=StoreInput(name="Not yours"))
    assert refused.status_code == 403 and isinstance(refused.parsed, Problem)
    assert "owner or editor role" in refused.parsed.detail
    # Nobody is made a member without saying yes: invited, then accepting.
    invitation = invite_store_member.sync(client=owner, store_id=store.id,
                                          body=MemberInput(username=helper.username,
                                                           role=StoreRole.EDITOR))
    assert (invitation.store_id, invitation.username) == (store.id, helper.username)
    assert [i.store_id for i in list_my_invitations.sync(client=other).data] == [store.id]
    member = accept_invitation.sync(client=other, store_id=store.id)
    assert member.role == StoreRole.EDITOR
    renamed = replace_store.sync(client=other, store_id=store.id,
                                 body=StoreInput(name="Generated, shared"))
    assert isinstance(renamed, Store) and renamed.owner_id == store.owner_id
    mine = list_stores.sync(client=other, member=MemberFilter.ME)
    assert [s.id for s in mine.data] == [store.id]


if __name__ == "__main__":
    main(os.environ["STORES_API_URL"])
    print(f"python flow: ok with stores-api-client {version('stores-api-client')}")
