"""RapiDoc, the third docs page, in headless Chromium: every operation of the
spec is shown, the page links to the other two, and no request leaves the
server."""

import re

from api.contract.spec_walk import operations_of
from openapi import load_spec
from tests.browser.conftest import offline_page
from tests.live_server import live_server

# How RapiDoc names an operation's element: method-path, with what an id
# may not hold (spaces, #:?&={}) made hyphens (its src/utils/common-utils.js).
NOT_IN_AN_ID = re.compile(r"[\s#:?&={}]")


def test_rapidoc_shows_every_operation_offline(browser, tmp_path, new_database):
    expected = {f"{method}-{NOT_IN_AN_ID.sub('-', path)}"
                for path, method, _ in operations_of(load_spec())}
    with live_server(tmp_path, new_database("rapidoc")) as server, \
            offline_page(browser, server.url) as page:
        response = page.goto(f"{server.api}/rapidoc")
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        page.locator("[id='get-/health']").first.wait_for(state="attached")
        ids = page.locator("[id]").evaluate_all("els => els.map(e => e.id)")
        shown = {i for i in ids if re.match(r"^(get|put|post|delete|patch)-/", i)}
        links = set(page.locator("a[href]").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"))
    assert shown == expected
    assert {"/api/v1/ui/", "/api/v1/docs"} <= links  # the other two doors
    assert page.outside_requests == []
    assert page.policy_violations == []
