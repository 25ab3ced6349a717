"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium, driven by
Playwright through `executable_path`; never a downloaded browser. Without it
the tests skip with a message (and fail under CI, which installs it first)."""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

TIMEOUT_MS = 30_000
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and quiet: no background calls to hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed ({CHROMIUM}): the browser test did not run"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def offline_page(browser, server_url: str, width: int = 1400, timeout_ms: int = TIMEOUT_MS):
    """A page that may load from the server alone (and from the blob: and
    data: URLs it makes itself): every other request is refused and noted in
    `page.outside_requests`, every Content Security Policy refusal the
    console reports in `page.policy_violations`."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.outside_requests, page.policy_violations = [], []
    own = urlsplit(server_url).netloc

    def only_the_server(route):
        url = route.request.url
        if urlsplit(url).netloc == own or url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            page.outside_requests.append(url)
            route.abort()

    page.route("**/*", only_the_server)
    page.on("console", lambda message: page.policy_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        yield page
    finally:
        context.close()
