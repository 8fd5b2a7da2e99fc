"""Importing a spreadsheet in the browser: a bad row is shown, corrected, and the file imports."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from medservice.customers.models import Organization
from tests.browser.conftest import log_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def spreadsheet(path, rows: list[list[str]]) -> str:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_bad_row_is_shown_then_the_corrected_file_imports(
    live_server, page: Page, agent, tmp_path, page_errors
):
    header = ["名称", "类型", "城市"]
    bad = spreadsheet(
        tmp_path / "bad.xlsx", [header, ["滨江诊所", "clinic", "杭州市"], ["", "医院", "湖州市"]]
    )
    good = spreadsheet(
        tmp_path / "good.xlsx",
        [header, ["滨江诊所", "clinic", "杭州市"], ["长兴县人民医院", "医院", "湖州市"]],
    )
    log_in(page, "agent", PASSWORD)

    page.goto("/customers/organizations/")
    page.locator("#import-link").click()
    page.locator("input[type=file]").set_input_files(bad)
    page.locator("#import-submit").click()

    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first.locator("td").nth(0)).to_have_text("3")
    expect(errors.first.locator("td").nth(1)).to_have_text("名称")
    assert Organization.objects.filter(name="滨江诊所").count() == 0

    page.get_by_role("link", name="Upload a corrected file").click()
    page.locator("input[type=file]").set_input_files(good)
    page.locator("#import-submit").click()
    page.locator("#import-confirm").click()

    expect(page.locator("#import-result")).to_have_text("2 created, 0 updated, 0 unchanged.")
    assert sorted(
        Organization.objects.filter(city__in=["杭州市", "湖州市"]).values_list("name", flat=True)
    ) == [
        "滨江诊所",
        "长兴县人民医院",
    ]
    assert page_errors == []
