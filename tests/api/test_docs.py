"""Swagger UI and the spec, served from the installed package."""

import re

import pytest
import yaml

from api.process import migrate
from openapi import SPEC_PATH, load_spec
from tests.conftest import API


def test_swagger_ui_is_served_with_its_own_assets(client):
    page = client.get(f"{API}/ui/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page.text)
    assert assets, "the page loads its scripts and styles"
    for asset in assets:
        assert not asset.startswith(("http://", "https://", "//")), asset
        response = client.get(f"{API}/ui/{asset.removeprefix('./')}")
        assert response.status_code == 200, asset


def test_the_spec_is_served_as_written_with_its_refs(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    served = response.json()
    written = load_spec()
    assert response.text.count('"$ref"') == SPEC_PATH.read_text().count("$ref:") > 200
    assert served["components"] == written["components"]
    assert served["paths"] == written["paths"]
    assert served["servers"] == [{"url": "http://testserver/api/v1"}]
    assert served["components"]["securitySchemes"]["accessToken"]["flows"]["password"][
        "tokenUrl"
    ] == "/api/v1/auth/login"


def test_the_spec_is_served_as_yaml_for_client_generators(client):
    # The same document beside openapi.json.
    response = client.get(f"{API}/openapi.yaml")
    assert response.status_code == 200
    assert "yaml" in response.headers["content-type"]
    assert yaml.safe_load(response.content) == client.get(f"{API}/openapi.json").json()


def test_the_served_servers_entry_never_comes_from_the_host_header(client):
    served = client.get(f"{API}/openapi.json", headers={"Host": "evil.example"}).json()
    assert served["servers"] == [{"url": "http://testserver/api/v1"}]


# The order a newcomer would try them in Swagger UI, on a fresh database.
EXAMPLE_TOUR = [
    "register", "login", "createStore", "getStore",
    "listStores", "createItem", "createStoreTag",
    "linkItemTag", "getItem", "listItems",
    "listStoreItems", "listStoreTags", "getTag",
    "listTagItems", "replaceItem", "replaceStore",
    "unlinkItemTag", "getCurrentUser", "getUser",
    "getHealth", "logout",
]


def operations_by_id(spec):
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                yield op["operationId"], (method, path, shared + op.get("parameters", []), op)


def deref(spec, node):
    """Follow a local `$ref` (one level is all this spec uses)."""
    if "$ref" not in node:
        return node
    _, section, name = node["$ref"].lstrip("#/").split("/")
    return spec["components"][section][name]


def example_request(spec, path, parameters, op):
    for parameter in map(lambda p: deref(spec, p), parameters):
        if parameter["in"] == "path":
            example = deref(spec, parameter["schema"])["example"]
            path = path.replace(f"{{{parameter['name']}}}", str(example))
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in content:
        return path, content["example"]
    if "examples" in content:
        return path, next(iter(content["examples"].values()))["value"]
    return path, None


@pytest.fixture
def fresh_client(new_database, app_with):
    """An app on a database of its own, fresh as a newcomer's: ids start at 1."""
    url = new_database("examples")
    migrate.upgrade(url)
    with app_with(database_url=url).test_client() as client:
        yield client


def test_request_examples_succeed_as_they_stand(fresh_client):
    """Every example in the spec works when tried as it is, in the tour's order."""
    client = fresh_client
    spec = load_spec()
    operations = dict(operations_by_id(spec))
    headers = {}
    for operation_id in EXAMPLE_TOUR:
        method, path, parameters, op = operations[operation_id]
        path, body = example_request(spec, path, parameters, op)
        response = client.request(method.upper(), f"{API}{path}", json=body, headers=headers)
        assert response.status_code < 300, (operation_id, response.text)
        if operation_id == "login":
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.parametrize(("page", "bundle", "element"), [
    ("docs", "redoc.standalone.js", "<redoc spec-url=\"openapi.json\""),
    ("rapidoc", "rapidoc-min.js", "<rapi-doc spec-url=\"openapi.json\""),
])
def test_redoc_and_rapidoc_are_served_from_here_with_their_policy(client, page, bundle, element):
    response = client.get(f"{API}/{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert element in response.text
    assert "http" not in response.text  # nothing from elsewhere
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    script = client.get(f"{API}/{page}/{bundle}")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert len(script.content) > 500_000


def test_the_spec_links_each_docs_page_to_the_other_two(client):
    description = client.get(f"{API}/openapi.json").json()["info"]["description"]
    for page in ("/api/v1/ui/", "/api/v1/docs", "/api/v1/rapidoc"):
        assert f"]({page})" in description
