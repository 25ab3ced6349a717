"""A Python client generated from the spec alone, as a client team makes it:
pointed at the running service's /openapi.json. It has the spec's named
models and drives a whole flow against the server, through its typed
functions only."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import live_server

PROJECT = Path(__file__).resolve().parents[2]


def generate_python_client(spec_url: str, output: Path) -> None:
    config = PROJECT / "openapi" / "python-client.yaml"  # the one `make client` uses
    subprocess.run(
        [str(Path(sys.executable).with_name("openapi-python-client")), "generate",
         "--url", spec_url, "--meta", "none", "--output-path", str(output),
         "--config", str(config)],
        check=True, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def stores_client(tmp_path_factory, server):
    folder = tmp_path_factory.mktemp("generated")
    generate_python_client(f"{server}/openapi.json", folder / "stores_client")
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("stores_client")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "stores_client"]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def server(tmp_path_factory, new_database):
    with live_server(tmp_path_factory.mktemp("server"), new_database("client"),
                     VALIDATE_RESPONSES="true") as live:
        yield live.api


def test_the_client_from_the_served_spec_has_its_named_models(stores_client):
    import stores_client.models as models

    for name in ("Store", "Item", "Tag", "User", "Problem", "TokenPair", "ItemCreate"):
        assert hasattr(models, name), name
    assert not [name for name in dir(models) if name.endswith("Body")]  # no anonymous bodies


def test_a_generated_python_client_runs_the_whole_flow(stores_client, server):
    from stores_client import AuthenticatedClient, Client
    from stores_client.api.auth import (
        login,
        logout,
        refresh_tokens,
        register,
    )
    from stores_client.api.items import (
        create_item,
        link_item_tag,
        list_items,
    )
    from stores_client.api.stores import create_store, create_store_tag
    from stores_client.api.users import get_current_user
    from stores_client.models import (
        Credentials,
        ItemCreate,
        LogoutRequestType0,
        Problem,
        StoreInput,
        TagInput,
        TokenPair,
        User,
    )

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
            client=client, body=ItemCreate(name=f"Thing {n}", price=n + 0.25, store_id=store.id)
        )
        for n in range(5)
    ]
    assert [item.price for item in items] == [0.25, 1.25, 2.25, 3.25, 4.25]
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

    refreshed = refresh_tokens.sync(client=AuthenticatedClient(base_url=server, token=pair.refresh_token))
    assert isinstance(refreshed, TokenPair)
    client = AuthenticatedClient(base_url=server, token=refreshed.access_token)
    assert get_current_user.sync(client=client).username == "generated"

    logout = logout.sync_detailed(
        client=client, body=LogoutRequestType0(refresh_token=refreshed.refresh_token)
    )
    assert logout.status_code == 204
    refused = get_current_user.sync_detailed(client=client)
    assert refused.status_code == 401 and isinstance(refused.parsed, Problem)
    assert refused.headers["www-authenticate"] == "Bearer"
