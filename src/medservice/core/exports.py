"""Export of a filtered list: CSV with a UTF-8 byte-order mark (Excel opens Chinese right) and
XLSX, streamed in chunks so a long list does not sit in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import models
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from openpyxl import Workbook


def field_value(obj: models.Model, name: str) -> Any:
    value: Any = obj
    for part in name.split("__"):
        if value is None:
            return ""
        display = getattr(value, f"get_{part}_display", None)
        value = display() if callable(display) else getattr(value, part)
    if hasattr(value, "all") and callable(value.all):
        return ", ".join(str(item) for item in value.all())
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, timezone.datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            if timezone.is_aware(value)
            else value
        )
    return "" if value is None else value


def rows_of(objects: Iterable[models.Model], fields: list[str]) -> Iterator[list[Any]]:
    for obj in objects:
        yield [field_value(obj, name) for name in fields]


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv(
    filename: str, headers: list[str], rows: Iterable[list[Any]]
) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff"
        yield writer.writerow(headers)
        for row in rows:
            yield writer.writerow([str(cell) for cell in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith("="):
        # What someone typed is text, never a formula (=HYPERLINK(...) in a complaint).
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def export_xlsx(filename: str, headers: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(filename[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
