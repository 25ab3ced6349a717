"""Every status the service answers is declared by its operation
(api/contract/declared_statuses.py)."""

import pytest
import yaml

from api.contract.declared_statuses import ANY_REQUEST, UndeclaredStatus, undeclared_statuses
from api.contract.spec_walk import operations_of
from openapi import SPEC_PATH, load_spec
from tests.conftest import API, assert_problem
from tests.in_thread_client import InThreadClient

SPEC = load_spec()


def test_every_operation_declares_what_any_request_may_be_answered():
    assert undeclared_statuses(operations_of(SPEC)) == []
    for _path, _method, operation in operations_of(SPEC):
        assert set(ANY_REQUEST) <= set(operation["responses"]), operation["operationId"]


def test_an_operation_missing_one_is_named():
    operations = [("/x", "post", {"operationId": "makeThing", "requestBody": {},
                                  "responses": {status: {} for status in ANY_REQUEST}})]
    assert undeclared_statuses(operations) == ["makeThing may answer 415, 401 but does not "
                                               "declare it"]
    operations[0][2]["responses"]["default"] = {}
    assert undeclared_statuses(operations) == []


def test_a_url_over_the_limit_is_a_declared_414(client, auth, store):
    """Schemathesis's ST103: GET /stores/{id}/tags with an 8 KiB query got a
    414 that the operation did not declare."""
    response = client.get(f"{API}/stores/{store['id']}/tags", params={"name": "x" * 9000},
                          headers=auth)
    assert_problem(response, 414)
    assert "414" in SPEC["paths"]["/stores/{store_id}/tags"]["get"]["responses"]


def test_an_answer_the_spec_does_not_declare_is_an_error_where_responses_are_checked(
        app_with, auth, tmp_path):
    """Raised by a handler, a 404 passes no validator of Connexion's."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    del spec["paths"]["/stores/{store_id}"]["get"]["responses"]["404"]
    changed = tmp_path / "swagger.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False))
    checked = app_with(spec_path=changed)
    with InThreadClient(checked) as client, pytest.raises(UndeclaredStatus) as raised:
        client.get(f"{API}/stores/999999", headers=auth)
    assert str(raised.value) == ("api.stores.get_store answered 404, which its responses "
                                 "in the spec do not declare")
    with InThreadClient(app_with(spec_path=changed, validate_responses=False)) as client:
        assert_problem(client.get(f"{API}/stores/999999", headers=auth), 404)


def test_every_operation_answers_a_body_over_the_limit_413_as_it_declares(
        client, auth, store, item, tag):
    """A body where none belongs is read and counted too."""
    ids = {"store_id": store["id"], "item_id": item["id"], "tag_id": tag["id"],
           "user_id": store["owner_id"]}
    for path, method, operation in operations_of(SPEC):
        response = client.request(method.upper(), API + path.format(**ids), headers=auth,
                                  json={"padding": "x" * 300_000})
        assert_problem(response, 413)
        assert "413" in operation["responses"], operation["operationId"]
