"""What is fixed once the spec is loaded is not rebuilt for every request."""

import pytest

from api import validation
from tests.conftest import API


def _refuse(*_args, **_kwargs):
    raise AssertionError("a jsonschema validator was built for a single request")


def test_validators_are_compiled_once_not_per_request(client, auth, store, monkeypatch):
    def requests(name):
        created = client.post(f"{API}/items", headers=auth,
                              json={"name": name, "price": 0.29, "store_id": store["id"]})
        assert created.status_code == 201, created.text
        item = created.json()
        got = client.get(f"{API}/items/{item['id']}", headers={**auth, "If-None-Match": '"x"'})
        assert got.status_code == 200
        page = client.get(f"{API}/items", headers=auth,
                          params={"store_id": store["id"], "min_price": 0.1, "limit": 5})
        assert page.status_code == 200
        bad = client.get(f"{API}/items", headers=auth, params={"limit": 0})
        assert bad.status_code == 400
        assert bad.json()["detail"] == "query parameter 'limit' does not satisfy minimum 1"

    requests("Tea")  # the first request of an operation compiles what it needs
    compiled = len(validation._compiled)
    # Connexion's own path builds a validator per parameter per request.
    monkeypatch.setattr("connexion.validators.parameter.Draft4Validator", _refuse)
    requests("Coffee")
    requests("Cocoa")
    assert len(validation._compiled) == compiled


@pytest.mark.parametrize("scheme", ["oauth2", "bearer"])
def test_token_functions_are_inspected_once(app, scheme):
    from api.security import security_map

    handler = security_map()[scheme]
    handler._accepts_kwarg.cache_clear()
    for _ in range(3):
        handler._accepts_kwarg(validation.compiled, "request")
    assert handler._accepts_kwarg.cache_info().misses == 1
