"""Swagger UI as a person uses it, in a real (headless) Chromium.

Playwright drives Debian's /usr/bin/chromium through `executable_path`; it never
downloads a browser. A machine without Chromium skips this test with a message
(CI installs the package first, and fails the test if it is still missing).
"""

from pathlib import Path

import pytest

from openapi import load_spec
from tests.browser.conftest import offline_page
from tests.http import call

REPORTS = Path(__file__).resolve().parents[2] / "reports"
USERNAME, PASSWORD = "alice", "correct-horse-battery"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def registered(server):
    assert call("POST", f"{server.api}/auth/register",
                {"username": USERNAME, "password": PASSWORD}).status == 201


@pytest.fixture
def page(browser, server, registered):
    """A page that may only talk to the server: every other host is refused and noted."""
    with offline_page(browser, server.url, width=1280, timeout_ms=TIMEOUT_MS) as page:
        yield page


def operation(page, method: str, path: str):
    return page.locator(f".opblock.opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )


def try_it_out(page, method: str, path: str) -> str:
    """Expand an operation, try it out with its example as it stands, return the status."""
    block = operation(page, method, path)
    block.locator(".opblock-summary").click()
    # The UI opens operations ready to try (tryItOutEnabled); otherwise ask for it.
    if not block.locator("button.execute").is_visible():
        block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    return status.inner_text().strip()


def test_swagger_ui_lists_the_api_logs_in_and_tries_calls(page, server):
    blocked = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    response = page.goto(f"{server.url}/")
    assert page.url == f"{server.api}/ui/"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page.locator(".opblock").first.wait_for()

    spec = load_spec()
    listed = set(page.locator(".opblock-tag-section").evaluate_all("""sections =>
        sections.flatMap(section => {
            const tag = section.querySelector('.opblock-tag').getAttribute('data-tag');
            return [...section.querySelectorAll('.opblock')].map(block => [
                tag,
                block.querySelector('.opblock-summary-method').textContent.toLowerCase(),
                block.querySelector('.opblock-summary-path, .opblock-summary-path__deprecated')
                     .getAttribute('data-path'),
            ].join(' '));
        })"""))
    expected = {
        f"{op['tags'][0]} {method} {path}"
        for path, item in spec["paths"].items()
        for method, op in item.items() if isinstance(op, dict) and "operationId" in op
    }
    assert listed == expected
    # Deprecated operations are shown as such (struck through), from the spec alone.
    struck = set(page.locator(".opblock.opblock-deprecated .opblock-summary-path__deprecated")
                 .evaluate_all("els => els.map(e => e.getAttribute('data-path'))"))
    assert struck == {path for path, item in spec["paths"].items()
                      if any(isinstance(op, dict) and op.get("deprecated") for op in item.values())}
    tags = page.locator(".opblock-tag").evaluate_all("els => els.map(e => e.dataset.tag)")
    assert tags == [tag["name"] for tag in spec["tags"]]

    # Authorize: the OAuth2 password flow, with a username and a password.
    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("#oauth_username").fill(USERNAME)
    dialog.locator("#oauth_password").fill(PASSWORD)
    dialog.locator(".auth-container").first.locator("button.authorize").click()
    dialog.locator(".auth-container").first.locator("button.authorize", has_text="Logout").wait_for()
    dialog.locator("button.btn-done").first.click()

    assert try_it_out(page, "post", "/stores") == "201"
    assert try_it_out(page, "get", "/items") == "200"
    block = operation(page, "post", "/stores")
    assert "Corner Shop" in block.locator(".live-responses-table").inner_text()

    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "swagger-ui.png"), full_page=True)
    assert page.outside_requests == []  # every asset came from the installed package
    assert blocked == []  # the docs' own policy let everything they need run
