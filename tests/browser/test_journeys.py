"""Journeys through the real pages in Chromium: sign in and out, browse organisations, switch
language, use a phone, and no script or Content-Security-Policy errors on the way."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from medservice.accounts.forms import LoginForm
from medservice.core.choices import AuditAction
from medservice.core.services import record_update
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def in_english(message: str) -> str:
    with translation.override("en"):
        return gettext(message)


def in_chinese(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


@pytest.fixture
def hospitals(manager):
    first = OrganizationFactory(name="市第一人民医院", region="上海")
    second = OrganizationFactory(name="县中医院", region="江苏")
    # One change by the manager, so the history shows an actor and a change.
    first = record_update(actor=manager, instance=first, data={"region": "北京"})
    return first, second


def test_manager_signs_in_browses_organisations_and_signs_out(
    live_server, page: Page, page_errors, manager, company, hospitals
):
    first, _second = hospitals
    assert manager.has_perm("customers.view_organization")

    log_in(page, "manager", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    # No language chosen in this browser: the manager's own preference (English) applies.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#user-menu")).to_have_text("王小明")

    page.locator("#main-nav").get_by_role("link", name=in_english("Organisations")).click()

    expect(page).to_have_url(f"{live_server.url}/customers/organizations/")
    names = page.locator("table.resource-list tbody tr td:nth-child(2) a")
    expect(names).to_have_count(3)
    assert sorted(names.all_inner_texts()) == sorted(
        ["康达医疗器械有限公司", "市第一人民医院", "县中医院"]
    )

    names.filter(has_text="市第一人民医院").click()

    expect(page).to_have_url(f"{live_server.url}/customers/organizations/{first.pk}/")
    expect(page.locator("h1")).to_have_text("市第一人民医院")
    tabs = page.get_by_role("tab")
    expect(tabs.last).to_have_text(in_english("History"))
    tabs.last.click()
    history = page.locator("table.audit-history tbody tr")
    expect(history).to_have_count(2)
    with translation.override("en"):
        updated, created = str(AuditAction.UPDATE.label), str(AuditAction.CREATE.label)
    expect(history.nth(0).locator("td").nth(1)).to_have_text("王小明")
    expect(history.nth(0).locator("td").nth(2)).to_have_text(updated)
    expect(history.nth(0).locator("td").nth(3)).to_have_text("region: 上海 → 北京")
    expect(history.nth(1).locator("td").nth(2)).to_have_text(created)

    page.locator("#user-menu").click()
    with page.expect_navigation():
        page.locator("#logout-button").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator("#login-button")).to_be_visible()
    assert [c["name"] for c in page.context.cookies() if c["name"] == "sessionid"] == []
    page.goto("/customers/organizations/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/customers/organizations/")
    assert page_errors == []


def test_a_wrong_password_shows_the_error_and_signs_nobody_in(
    live_server, page: Page, page_errors, manager
):
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#login-error")).to_have_count(0)

    page.locator("#id_username").fill("manager")
    page.locator("#id_password").fill("wrong-horse-battery")
    with page.expect_navigation() as navigation:
        page.locator("#login-button").click()

    assert navigation.value.status == 200
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    with translation.override("zh-hans"):
        expected = str(LoginForm.error_messages["invalid_login"])
    expect(error).to_have_text(expected)
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#id_username")).to_have_value("manager")
    expect(page.locator("#id_password")).to_have_value("")
    assert [c["name"] for c in page.context.cookies()] == ["csrftoken"]
    assert Session.objects.count() == 0
    assert page_errors == []


def test_switching_language_changes_the_page_and_persists(live_server, page: Page, page_errors):
    html, select = page.locator("html"), page.locator("#language-select")
    page.goto("/accounts/login/")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(select).to_have_value("zh-hans")
    expect(page.locator("#login-button")).to_have_text(in_chinese("Sign in"))

    with page.expect_navigation():
        select.select_option("en")

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(html).to_have_attribute("lang", "en")
    expect(select).to_have_value("en")
    expect(page.locator("#login-button")).to_have_text(in_english("Sign in"))

    page.reload()
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("#language-select option:checked")).to_have_text("English")

    with page.expect_navigation():
        select.select_option("zh-hans")

    expect(html).to_have_attribute("lang", "zh-hans")
    page.goto("/accounts/login/")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language-select option:checked")).to_have_text("简体中文")
    expect(page.locator("#login-button")).to_have_text(in_chinese("Sign in"))
    language_cookies = [
        c["value"] for c in page.context.cookies() if c["name"] == "django_language"
    ]
    assert language_cookies == ["zh-hans"]
    assert page_errors == []


def test_a_phone_gets_the_collapsed_menu_and_a_usable_list(
    live_server, page: Page, page_errors, manager, hospitals
):
    first, _second = hospitals
    page.set_viewport_size(PHONE)
    log_in(page, "manager", PASSWORD)

    toggler = page.locator("button.navbar-toggler")
    organisations = page.locator("#main-nav").get_by_role("link", name=in_english("Organisations"))
    expect(toggler).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(organisations).to_be_hidden()

    toggler.click()

    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(organisations).to_be_visible()
    expect(page.locator("#user-menu")).to_be_visible()
    organisations.click()

    expect(page).to_have_url(f"{live_server.url}/customers/organizations/")
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(page.locator("table.resource-list")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
    link = page.locator("table.resource-list").get_by_role("link", name="市第一人民医院")
    link.click()
    expect(page).to_have_url(f"{live_server.url}/customers/organizations/{first.pk}/")
    expect(page.locator("h1")).to_have_text("市第一人民医院")
    assert page_errors == []


def test_pages_and_their_scripts_run_without_console_or_csp_errors(
    live_server, page: Page, page_errors, manager, hospitals
):
    visited = []
    page.on(
        "response",
        lambda response: (
            visited.append(response) if response.request.resource_type == "document" else None
        ),
    )
    log_in(page, "manager", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto("/customers/organizations/")
    rows = page.locator("table.resource-list tbody tr")
    expect(rows).to_have_count(3)

    # The kind filter swaps the rows in with HTMX (a script under the CSP) ...
    with page.expect_request(lambda request: "hx-request" in request.headers) as swap:
        page.locator("#list-filters select[name=kind]").select_option("hospital")
    assert swap.value.headers["hx-request"] == "true"
    expect(rows).to_have_count(2)
    expect(page.locator("#list-filters.htmx-request")).to_have_count(0)
    assert sorted(rows.locator("td:nth-child(2)").all_inner_texts()) == [
        "县中医院",
        "市第一人民医院",
    ]
    # The pushed URL carries the filters in force (empty ones included), so it can be bookmarked.
    pushed = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    assert (pushed["kind"], pushed["q"]) == (["hospital"], [""])
    # ... and app.js enables the bulk action once a row is ticked.
    export_selected = page.locator("#bulk-form .js-bulk-action")
    expect(export_selected).to_be_disabled()
    rows.first.locator(".js-select-row").check()
    expect(export_selected).to_be_enabled()

    documents = [(r.url.removeprefix(live_server.url), r.status) for r in visited]
    assert documents == [
        ("/accounts/login/", 200),
        ("/accounts/login/", 302),
        ("/", 200),
        ("/customers/organizations/", 200),
    ]
    for response in visited:
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, response.url
    assert page_errors == []


def test_filtering_a_bookmarked_list_keeps_query_and_export_links_in_step(
    live_server, page: Page, page_errors, manager, hospitals
):
    # Regression: hx-get="" re-sent the bookmarked query plus the form's fields (q twice), and
    # the export links, outside the swapped rows, kept the query of the first page load.
    log_in(page, "manager", PASSWORD)
    page.goto("/customers/organizations/?q=%E5%8E%BF%E4%B8%AD")
    rows = page.locator("table.resource-list tbody tr")
    expect(rows).to_have_count(1)

    with page.expect_request(lambda request: "hx-request" in request.headers) as swap:
        page.locator("#list-filters select[name=kind]").select_option("hospital")
    expect(page.locator("#list-filters.htmx-request")).to_have_count(0)

    expect(rows).to_have_count(1)
    sent = parse_qs(urlsplit(swap.value.url).query, keep_blank_values=True)
    export = parse_qs(
        urlsplit(page.locator("#export-csv").get_attribute("href")).query, keep_blank_values=True
    )
    assert (sent["q"], sent["kind"]) == (["县中"], ["hospital"])
    assert {key: value for key, value in export.items() if key != "export"} == sent
    assert export["export"] == ["csv"]
    assert page_errors == []
