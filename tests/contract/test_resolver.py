"""Handlers' results made responses in their worker thread (api/contract/resolver.py),
with the content type checked against the operation's as Connexion checks it."""

import json

import pytest
from connexion.exceptions import NonConformingResponseHeaders

from api.contract.resolver import JSON, response

DOCUMENTED = frozenset({JSON, "application/problem+json"})


def test_a_body_is_json_written_once_with_its_status_and_headers():
    sent = response(({"id": 7, "name": "Ünïcode"}, 201, {"Location": "/api/v1/stores/7"}),
                    DOCUMENTED)
    assert sent.status_code == 201
    assert sent.headers["content-type"] == JSON
    assert sent.headers["location"] == "/api/v1/stores/7"
    assert json.loads(sent.body) == {"id": 7, "name": "Ünïcode"}
    assert sent.headers["content-length"] == str(len(sent.body))


def test_a_bare_body_is_200():
    sent = response([1, 2], DOCUMENTED)
    assert (sent.status_code, sent.body) == (200, b"[1,2]")


def test_no_body_is_sent_without_a_content_type():
    sent = response((None, 304, {"ETag": '"abc"'}), DOCUMENTED)
    assert sent.status_code == 304
    assert "content-type" not in sent.headers
    assert sent.body == b""


def test_a_documented_content_type_of_the_handlers_own_is_kept():
    sent = response(("a,b\n", 200, {"content-type": "text/csv"}), DOCUMENTED | {"text/csv"})
    assert sent.headers["content-type"] == "text/csv"
    assert sent.body == b"a,b\n"


def test_a_content_type_the_operation_does_not_document_is_refused():
    with pytest.raises(NonConformingResponseHeaders):
        response(("a,b\n", 200, {"Content-Type": "text/csv"}), DOCUMENTED)


def test_json_is_refused_where_the_operation_documents_only_another_type():
    with pytest.raises(NonConformingResponseHeaders):
        response({"id": 1}, frozenset({"text/plain"}))
