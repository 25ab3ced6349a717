"""Swagger UI and the spec, served from the installed package."""

import re

import yaml

from api.app import SPEC_PATH
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


def test_the_spec_is_served_as_json(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    served = response.json()
    written = yaml.safe_load(SPEC_PATH.read_text())
    assert served["paths"].keys() == written["paths"].keys()
    assert served["components"]["securitySchemes"]["accessToken"]["flows"]["password"][
        "tokenUrl"
    ] == "/api/v1/auth/login"
