"""ReDoc, the second docs page, in headless Chromium: every operation of the
spec is listed, and no request leaves the server."""

import re

from openapi import load_spec
from tests.browser.conftest import offline_page
from tests.live_server import live_server


def test_redoc_lists_every_operation_offline(browser, tmp_path, new_database):
    spec = load_spec()
    # ReDoc links each operation as #/<tag>/<operationid, lower case>.
    expected = {
        f"#/{op['tags'][0]}/{op['operationId'].lower()}" for item in spec["paths"].values()
        for op in item.values() if isinstance(op, dict) and "operationId" in op
    }
    with live_server(tmp_path, new_database("redoc")) as server, \
            offline_page(browser, server.url) as page:
        response = page.goto(f"{server.api}/docs")
        assert response.headers["x-frame-options"] == "DENY"
        for tag in spec["tags"]:  # the menu opens a tag's operations when clicked
            page.get_by_text(tag["name"], exact=True).first.click()
        page.locator("a[href='#/health/gethealth']").first.wait_for(state="attached")
        # A tag's list of operations shows its first eight until asked for more.
        for more in page.get_by_text(re.compile(r"^Show \d+ more")).all():
            more.click()
        links = page.locator("a[href^='#/']").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))")
        listed = {link for link in links if link.count("/") == 2 and "#/section/" not in link}
    assert listed == expected
    assert page.outside_requests == []
    # ReDoc's "API docs by Redocly" badge asks a CDN for its logo; the page's
    # policy refuses it (the badge then hides itself). Nothing else is refused.
    assert [v for v in page.policy_violations if "cdn.redoc.ly/redoc/logo" not in v] == []
