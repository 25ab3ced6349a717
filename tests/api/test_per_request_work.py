"""What is fixed once the spec is loaded is not rebuilt for every request."""

import pytest

from api.contract import validation
from tests.conftest import API, PASSWORD


def _refuse(*_args, **_kwargs):
    raise AssertionError("a jsonschema validator was built for a single request")


def test_validators_are_compiled_once_not_per_request(client, auth, store, monkeypatch):
    def requests(name):
        created = client.post(f"{API}/items", headers=auth,
                              json={"name": name, "price": "0.29", "store_id": store["id"]})
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
    from api.identity.security import security_map

    handler = security_map()[scheme]
    handler._accepts_kwarg.cache_clear()
    for _ in range(3):
        handler._accepts_kwarg(validation.compiled, "request")
    assert handler._accepts_kwarg.cache_info().misses == 1


def test_a_path_parameter_is_validated_once_per_request(client, auth, store, monkeypatch):
    # Connexion appended `item_id`, shared by the path's operations, to
    # getItem's own parameters once per layer: six checks per request.
    checked = []
    original = validation.StrictParameterValidator.validate_parameter
    monkeypatch.setattr(validation.StrictParameterValidator, "validate_parameter", staticmethod(
        lambda kind, value, param, name=None: checked.append((kind, param["name"]))
        or original(kind, value, param, name)))
    item = client.post(f"{API}/items", headers=auth,
                       json={"name": "Tea", "price": "1", "store_id": store["id"]}).json()
    checked.clear()
    assert client.get(f"{API}/items/{item['id']}", headers=auth).status_code == 200
    assert sorted(checked) == [("header", "If-None-Match"), ("path", "item_id")]
    assert client.get(f"{API}/items/0", headers=auth).status_code == 400  # still checked


def test_request_validation_is_set_up_once_per_operation(client, auth, store, monkeypatch):
    def requests(name):
        created = client.post(f"{API}/items", headers=auth,
                              json={"name": name, "price": "1", "store_id": store["id"]})
        assert created.status_code == 201, created.text
        bad = client.post(f"{API}/items", headers=auth,
                          json={"name": name, "price": 1, "store_id": store["id"]})
        assert bad.status_code == 400
        assert bad.json()["detail"] == "'price' does not satisfy type string"
        page = client.get(f"{API}/items", headers=auth, params={"limit": 0})
        assert page.json()["detail"] == "query parameter 'limit' does not satisfy minimum 1"

    requests("Tea")
    monkeypatch.setattr("connexion.uri_parsing.OpenAPIURIParser.__init__", _refuse)
    monkeypatch.setattr(validation.StrictParameterValidator, "__init__", _refuse)
    monkeypatch.setattr(validation.JSONBodyValidator, "__init__", _refuse)
    requests("Coffee")


def test_body_validators_kept_are_bounded_by_what_callers_send(app, client, auth, store):
    from api.contract.request_validation import BODY_VALIDATORS_KEPT, RequestValidationOnce

    item = client.post(f"{API}/items", headers=auth,
                       json={"name": "Tea", "price": "1", "store_id": store["id"]}).json()
    # An operation without a body takes any media type: the caller's text.
    for n in range(3 * BODY_VALIDATORS_KEPT):
        got = client.get(f"{API}/items/{item['id']}",
                         headers={**auth, "Content-Type": f"text/x-{n}"})
        assert got.status_code == 200
    kept = [len(operation._body_validators)
            for operation in _operations(app.middleware.middleware_stack)
            if isinstance(operation, RequestValidationOnce) and "_body_validators" in vars(operation)]
    assert max(kept) == BODY_VALIDATORS_KEPT


def _operations(layers):
    """Every operation of Connexion's layers, as its middleware built them."""
    for layer in layers:
        for apis in getattr(layer, "apis", {}).values():
            for api in apis if isinstance(apis, list) else [apis]:
                yield from getattr(api, "operations", {}).values()


def test_only_paths_that_can_lead_to_the_swagger_ui_go_through_its_router(app, client, auth):
    from api.contract.swagger_ui import SwaggerUIOnItsPaths

    assert client.get(f"{API}/health").status_code == 200  # builds the middleware stack
    (layer,) = [layer for layer in app.middleware.middleware_stack
                if isinstance(layer, SwaggerUIOnItsPaths)]
    asked = []
    router = layer.router

    async def watched(scope, receive, send):
        asked.append(scope["path"])
        await router(scope, receive, send)

    layer.router = watched
    assert client.get(f"{API}/stores", headers=auth).status_code == 200
    assert client.get(f"{API}/nowhere", headers=auth).status_code == 404
    assert asked == []
    ui = client.get(f"{API}/ui/")
    assert ui.status_code == 200 and "swagger-ui" in ui.text
    assert client.get(f"{API}/ui/swagger-ui-config.json").json()["persistAuthorization"] is True
    to_ui = client.get(f"{API}/ui", follow_redirects=False)
    assert to_ui.status_code == 307 and to_ui.headers["location"].endswith(f"{API}/ui/")
    to_base = client.get(API, follow_redirects=False)
    assert to_base.status_code == 307 and to_base.headers["location"].endswith(f"{API}/")
    assert asked == [f"{API}/ui/", f"{API}/ui/swagger-ui-config.json", f"{API}/ui", API]


def test_database_work_runs_in_the_lifespans_threads_not_through_anyio(client, auth, store,
                                                                     monkeypatch):
    # Handlers, token checks that ask the database (every one on SQLite) and
    # idempotency records: one pool of HANDLER_THREADS threads, whose database
    # connections docs/operations.md counts.
    import threading

    import api.stores

    def _refuse_hop(*_args, **_kwargs):
        raise AssertionError("database work went through anyio's to_thread")

    monkeypatch.setattr("anyio.to_thread.run_sync", _refuse_hop)
    ran_in = []
    store_json = api.stores.store_json
    monkeypatch.setattr(api.stores, "store_json",
                        lambda store: ran_in.append(threading.current_thread().name)
                        or store_json(store))
    got = client.get(f"{API}/stores/{store['id']}", headers=auth)
    assert got.status_code == 200 and got.json()["name"] == store["name"]
    assert len(ran_in) == 1 and ran_in[0].startswith("handler")
    once = {**auth, "Idempotency-Key": "per-request-work-1"}
    body = {"name": "Tea", "price": "1", "store_id": store["id"]}
    created = client.post(f"{API}/items", headers=once, json=body)
    assert created.status_code == 201
    replayed = client.post(f"{API}/items", headers=once, json=body)
    assert replayed.status_code == 201 and replayed.json() == created.json()


def test_a_handler_that_raises_stop_iteration_is_a_500_not_a_hang(client, auth, store,
                                                                  monkeypatch):
    import api.stores

    monkeypatch.setattr(api.stores, "store_json", lambda store: next(iter(())))
    got = client.get(f"{API}/stores/{store['id']}", headers=auth)
    assert got.status_code == 500
    assert got.headers["content-type"] == "application/problem+json"


def test_a_request_without_a_form_never_builds_one(client, auth, store, monkeypatch):
    # Connexion's parameter decorator asks every request for its files, and
    # Starlette built an empty form to answer one that carries none.
    from starlette.requests import Request

    parsed = []
    get_form = Request._get_form
    monkeypatch.setattr(Request, "_get_form",
                        lambda self, **kwargs: parsed.append(self.url.path)
                        or get_form(self, **kwargs))
    assert client.get(f"{API}/stores/{store['id']}", headers=auth).status_code == 200
    assert client.get(f"{API}/items", headers=auth,
                      params={"store_id": store["id"]}).status_code == 200
    created = client.post(f"{API}/items", headers=auth,
                          json={"name": "Tea", "price": "1", "store_id": store["id"]})
    assert created.status_code == 201
    assert parsed == []
    # A form is still read as a form.
    login = client.post(f"{API}/auth/login",
                        data={"grant_type": "password", "username": "alice",
                              "password": PASSWORD})
    assert login.status_code == 200 and login.json()["token_type"] == "Bearer"
    assert set(parsed) == {f"{API}/auth/login"}


def test_handlers_read_the_request_from_its_scope_not_through_connexion_request(
        client, auth, store, monkeypatch):
    # `connexion.request` builds a request object, and Starlette's under it, on
    # every attribute read: about 20 us for one header, four times per page.
    from connexion.lifecycle import ConnexionRequest

    for name in ("Tea", "Coffee"):
        client.post(f"{API}/items", headers=auth,
                    json={"name": name, "price": "1", "store_id": store["id"]})
    built = []
    init = ConnexionRequest.__init__
    monkeypatch.setattr(ConnexionRequest, "__init__",
                        lambda self, *args, **kwargs: built.append(1) or init(self, *args, **kwargs))
    page = client.get(f"{API}/items", headers=auth, params={"store_id": store["id"], "limit": 1})
    assert page.status_code == 200 and "rel=\"next\"" in page.headers["link"]
    got = client.get(f"{API}/stores/{store['id']}", headers={**auth, "If-None-Match": '"x"'})
    assert got.status_code == 200
    # Connexion's own, per request: the security layer, request validation
    # and the call chain.
    assert len(built) == 2 * 3


def test_parameters_are_resolved_once_per_request(client, auth, store, monkeypatch):
    # Request validation resolves them (split, typed, defaults); the handler's
    # call chain did it again.
    from connexion.uri_parsing import OpenAPIURIParser

    resolved = []
    for method in ("resolve_query", "resolve_path"):
        original = getattr(OpenAPIURIParser, method)
        monkeypatch.setattr(OpenAPIURIParser, method,
                            lambda self, params, method=method, original=original:
                            resolved.append((method, dict(params))) or original(self, params))
    page = client.get(f"{API}/items", headers=auth, params={"store_id": store["id"], "limit": 2})
    assert page.status_code == 200
    # An operation without path parameters has them resolved (to none) once, by the chain.
    assert resolved == [("resolve_query", {"store_id": [str(store["id"])], "limit": ["2"]}),
                        ("resolve_path", {})]
    resolved.clear()
    got = client.get(f"{API}/stores/{store['id']}", headers=auth)
    assert got.status_code == 200 and got.json()["id"] == store["id"]
    assert resolved == [("resolve_query", {}), ("resolve_path", {"store_id": store["id"]})]


def test_a_write_without_if_match_builds_its_representation_once(client, auth, store,
                                                                 monkeypatch):
    # For the response and its ETag: If-Match's comparison needs one only
    # when the header names ETags.
    import api.items

    created = client.post(f"{API}/items", headers=auth,
                          json={"name": "Tea", "price": "1", "store_id": store["id"]})
    assert created.status_code == 201
    url = f"{API}/items/{created.json()['id']}"
    first_etag = client.get(url, headers=auth).headers["ETag"]
    built = []
    item_json = api.items.item_json
    monkeypatch.setattr(api.items, "item_json", lambda item: built.append(1) or item_json(item))
    body = {"name": "Green tea", "price": "2"}
    replaced = client.put(url, headers=auth, json=body)
    assert replaced.status_code == 200 and replaced.json()["name"] == "Green tea"
    assert len(built) == 1
    stale = client.put(url, headers={**auth, "If-Match": first_etag}, json=body)
    assert stale.status_code == 412
    assert len(built) == 2
