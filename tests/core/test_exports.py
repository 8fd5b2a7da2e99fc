"""Spreadsheet exports keep what people typed as text."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from medservice.core.exports import export_xlsx


def test_a_value_that_looks_like_a_formula_is_exported_as_text():
    response = export_xlsx("records", ["name"], [['=HYPERLINK("http://x","y")'], ["县中医院"], [3]])
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [(cell.value, cell.data_type) for (cell,) in sheet.iter_rows()] == [
        ("name", "s"),
        ('=HYPERLINK("http://x","y")', "s"),
        ("县中医院", "s"),
        (3, "n"),
    ]
