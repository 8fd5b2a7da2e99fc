"""Playwright against Debian's Chromium and pytest-django's live server.

Playwright's own browser download does not work here, so the session launches
/usr/bin/chromium. Each test gets a fresh browser context (cookies, storage) and the live
server's transactional database, flushed after every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response

CHROMIUM = "/usr/bin/chromium"

# Reported through the console handler below; Chromium also logs a console error of its own
# for each violation, but the event carries the directive and the blocked URI.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install chromium")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
        ],
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, live_server) -> dict:
    # A browser in China: Accept-Language zh-CN, which Django maps to zh-hans.
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
    }


@pytest.fixture(autouse=True)
def _roles_present(transactional_db) -> None:
    """The role groups and their permissions exist in every browser test.

    The data migration creates the groups and post_migrate syncs their permissions. A
    transactional test flushes the database afterwards; flush then emits post_migrate again,
    which recreates the permissions and the groups (accounts' `_sync_roles`). This guard only
    repairs the database if that ever stops being true (e.g. if a test sets available_apps or
    serialized_rollback, which inhibit post_migrate after the flush).
    """
    from django.contrib.auth.models import Group

    from medservice.accounts.roles import ROLE_PERMISSIONS, roles_sync

    names = {str(role) for role in ROLE_PERMISSIONS}
    if set(Group.objects.filter(name__in=names).values_list("name", flat=True)) != names:
        roles_sync()


@pytest.fixture
def page_errors(page: Page) -> Iterator[list[str]]:
    """Console errors, uncaught exceptions, CSP violations and failed same-origin requests
    seen by `page`; a test asserts the list is empty after its journey."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        if message.type == "error":
            errors.append(f"console: {message.text} ({url})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    page.add_init_script(_REPORT_CSP_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))

    def on_request_failed(request: Request) -> None:
        # A resource still loading when the page navigates away (the favicon, typically) is
        # aborted by the browser: not a failure of the application.
        if request.failure == "net::ERR_ABORTED" and request.resource_type != "document":
            return
        errors.append(f"failed: {request.url} ({request.failure})")

    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    yield errors


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("#login-button").click()
