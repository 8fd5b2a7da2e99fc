"""Bulk import of CSV and XLSX files: every row is checked first (a dry run lists each bad row
by row, column and message, in the uploader's language) and nothing is imported until the
whole file is clean; then all rows are applied in one transaction. Rows are matched on their
natural key, so importing the same file again changes nothing.

Apps register an ImportSpec per record kind (`import_spec_register`), giving the columns
(with the header names users write, in Chinese and English), a form that checks one row, the
natural key, and how to apply a clean row (usually the app's create/update services).
"""

from __future__ import annotations

import contextvars
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.models import ImportJob

PROGRESS_EVERY = 50

# While rows are applied: (the spec's column fields, the fields the file has a column for).
# A column left out of the file must leave existing records' values alone, never empty them.
_COLUMNS: contextvars.ContextVar[tuple[frozenset[str], frozenset[str]] | None] = (
    contextvars.ContextVar("medservice_import_columns", default=None)
)


def import_changes(instance: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The values of `data` that differ from the stored record, leaving out the fields whose
    column the file does not have (so a short file never empties other fields)."""
    columns = _COLUMNS.get()
    skipped: frozenset[str] = frozenset()
    if columns is not None:
        all_fields, present = columns
        skipped = all_fields - present
    return {
        key: value
        for key, value in data.items()
        if key not in skipped and getattr(instance, key) != value
    }


@dataclass(frozen=True)
class ImportColumn:
    field: str
    headers: tuple[str, ...]
    required: bool = False


@dataclass
class ImportSpec:
    kind: str
    label: Any
    permission: str
    columns: list[ImportColumn]
    form_class: type[forms.Form]
    natural_key: Callable[[dict[str, Any]], tuple[Any, ...]]
    # (cleaned row, actor) -> "created" | "updated" | "unchanged"
    apply_row: Callable[[dict[str, Any], Any], str]
    form_kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda actor: {})


SPECS: dict[str, ImportSpec] = {}


def import_spec_register(spec: ImportSpec) -> ImportSpec:
    SPECS[spec.kind] = spec
    return spec


class ImportFileError(Exception):
    """The file as a whole cannot be read (format, encoding, missing columns)."""


def decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or, as Excel in China saves it, GBK/GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        _("The file is neither UTF-8 nor GBK text; save it as CSV (UTF-8) or XLSX.")
    )


def read_table(name: str, raw: bytes) -> tuple[list[str], list[list[Any]]]:
    """The header and the data rows of the first sheet (XLSX) or of a CSV file."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a damaged file
            raise ImportFileError(
                _("The XLSX file cannot be opened: %(error)s") % {"error": error}
            ) from error
        rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    elif lower.endswith(".csv"):
        rows = [list(row) for row in csv.reader(io.StringIO(decode_csv(raw)))]
    else:
        raise ImportFileError(_("Upload a .xlsx or .csv file."))
    rows = [row for row in rows if any(cell not in (None, "") for cell in row)]
    if not rows:
        raise ImportFileError(_("The file has no header row."))
    header = ["" if cell is None else str(cell).strip() for cell in rows[0]]
    return header, rows[1:]


def map_columns(spec: ImportSpec, header: list[str]) -> dict[int, ImportColumn]:
    known = {
        name.strip().lower(): column
        for column in spec.columns
        for name in (*column.headers, column.field)
    }
    mapping = {
        index: known[name.lower()] for index, name in enumerate(header) if name.lower() in known
    }
    present = {column.field for column in mapping.values()}
    missing = [
        column.headers[0]
        for column in spec.columns
        if column.required and column.field not in present
    ]
    if missing:
        raise ImportFileError(
            _("Required columns are missing: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    return mapping


def cell_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 13812345678 as a float
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if hasattr(value, "hour") else value.isoformat()
    return str(value).strip()


def iterate_rows(
    spec: ImportSpec, header: list[str], rows: list[list[Any]]
) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
    mapping = map_columns(spec, header)
    labels = {column.field: header[index] for index, column in mapping.items()}
    for offset, row in enumerate(rows):
        data = {
            column.field: cell_text(row[index]) if index < len(row) else ""
            for index, column in mapping.items()
        }
        yield offset + 2, data, labels  # row 1 is the header, as the spreadsheet numbers it


def validate_rows(
    job: ImportJob, spec: ImportSpec, header: list[str], rows: list[list[Any]]
) -> list[dict[str, Any]]:
    """Check every row; record errors on the job; return the clean rows."""
    errors: list[dict[str, Any]] = []
    clean: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    extra = spec.form_kwargs(job.uploaded_by)
    for number, data, labels in iterate_rows(spec, header, rows):
        form = spec.form_class(data=data, **extra)
        if not form.is_valid():
            for name, problems in form.errors.items():
                column = labels.get(name, "" if name == "__all__" else name)
                errors.extend(
                    {"row": number, "column": column, "message": str(problem)}
                    for problem in problems
                )
        else:
            key = spec.natural_key(form.cleaned_data)
            if key in seen:
                errors.append(
                    {
                        "row": number,
                        "column": "",
                        "message": _("The same record appears already in row %(row)d.")
                        % {"row": seen[key]},
                    }
                )
            else:
                seen[key] = number
                clean.append(form.cleaned_data)
        if (number - 1) % PROGRESS_EVERY == 0:
            ImportJob.objects.filter(pk=job.pk).update(processed_rows=number - 1)
    job.errors = errors
    return clean


def import_run(job_id: int) -> ImportJob:
    """The background task's body: check, then (when asked and clean) apply all rows at once."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    spec = SPECS[job.kind]
    with translation.override(job.language):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.VALIDATING, processed_rows=0
        )
        try:
            with job.file.open("rb") as handle:
                header, rows = read_table(job.original_name, handle.read())
            job.total_rows = len(rows)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
            clean = validate_rows(job, spec, header, rows)
        except ImportFileError as error:
            return _finish(
                job,
                ImportJob.Status.INVALID,
                errors=[{"row": 1, "column": "", "message": str(error)}],
            )
        if job.errors:
            return _finish(job, ImportJob.Status.INVALID, errors=job.errors)
        if not job.apply:
            return _finish(job, ImportJob.Status.VALID, errors=[])
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        present = frozenset(column.field for column in map_columns(spec, header).values())
        token = _COLUMNS.set((frozenset(column.field for column in spec.columns), present))
        try:
            with (
                transaction.atomic(),
                audit_context(actor=job.uploaded_by, job=f"import:{job.kind}"),
            ):
                for row in clean:
                    counts[spec.apply_row(row, job.uploaded_by)] += 1
        except Exception as error:  # a row refused while applying: nothing was saved
            message = getattr(error, "message", None) or str(error)
            return _finish(
                job, ImportJob.Status.FAILED, errors=[{"row": 0, "column": "", "message": message}]
            )
        finally:
            _COLUMNS.reset(token)
        job.created_count, job.updated_count, job.unchanged_count = (
            counts["created"],
            counts["updated"],
            counts["unchanged"],
        )
        return _finish(job, ImportJob.Status.DONE, errors=[])


def _finish(job: ImportJob, status: str, *, errors: list[dict[str, Any]]) -> ImportJob:
    job.status = status
    job.errors = errors
    job.processed_rows = job.total_rows
    job.finished_at = timezone.now()
    job.save()
    return job


def import_start(*, actor: Any, kind: str, upload: Any, apply: bool) -> ImportJob:
    """Store the upload and queue the check (and import, when `apply`)."""
    from medservice.core.tasks import run_import

    spec = SPECS[kind]
    if not actor.has_perm(spec.permission):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    job = ImportJob.objects.create(
        kind=kind,
        file=upload,
        original_name=upload.name[:255],
        uploaded_by=actor,
        language=getattr(actor, "language", "") or translation.get_language() or "zh-hans",
        apply=apply,
    )
    transaction.on_commit(lambda: run_import.enqueue(job.pk))
    return job


def import_confirm(*, actor: Any, job: ImportJob) -> ImportJob:
    """Import a file whose dry run was clean (it is checked again: data may have changed)."""
    from medservice.core.errors import InvalidTransitionError
    from medservice.core.tasks import run_import

    if job.status != ImportJob.Status.VALID:
        raise InvalidTransitionError(_("Only a checked file without errors can be imported."))
    ImportJob.objects.filter(pk=job.pk).update(
        apply=True, status=ImportJob.Status.PENDING, finished_at=None
    )
    transaction.on_commit(lambda: run_import.enqueue(job.pk))
    job.refresh_from_db()
    return job


class LabelChoiceField(forms.ChoiceField):
    """A choice typed as its code (hospital) or its label in either language (医院, Hospital)."""

    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        super().__init__(choices=choices, **kwargs)
        self.aliases: dict[str, str] = {}
        for value, label in choices:
            self.aliases[str(value).lower()] = value
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    text = str(label)
                # "Grade III, class A (三级甲等)": either half alone names the choice too.
                for alias in (text, *text.replace(")", "").split(" (")):
                    if alias.strip():
                        self.aliases[alias.strip().lower()] = value

    def to_python(self, value: Any) -> str:
        text = super().to_python(value).strip()
        return self.aliases.get(text.lower(), text)
