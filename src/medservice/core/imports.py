"""Bulk import of CSV and XLSX files: every row is checked first (a dry run lists each bad row
by row, column and message, in the uploader's language) and nothing is imported until the
whole file is clean; then all rows are applied in one transaction. Rows are matched on their
natural key, so importing the same file again changes nothing.

Apps register an ImportSpec per record kind (`import_spec_register`), giving the columns
(with the header names users write, in Chinese and English), a form that checks one row, the
natural key, and how to apply a clean row (usually the app's create/update services).

A spec with an `ImportBatch` is checked and applied a chunk of rows at a time instead: the
form's fields clean each cell, the batch looks up what a chunk's rows refer to in a fixed
number of queries and applies the record's rules to each row, and writes a chunk's new
records in bulk (one audit event per record still). Files of tens of thousands of rows need
it: a row-by-row path spends several queries per row.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connections, router, transaction
from django.db.models.expressions import RawSQL
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
class ImportRow:
    """One data row while a batch checks it: its cells as read, the values cleaned so far,
    and its problems by field in the order a form would report them."""

    number: int  # as the spreadsheet numbers it (row 1 is the header)
    data: dict[str, Any]
    cleaned: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add_error(self, name: str | None, error: Any) -> None:
        """As Form.add_error: the problem is listed under the field (None: the whole row) and
        the field's value leaves `cleaned`."""
        key = name or NON_FIELD_ERRORS
        messages = error.messages if isinstance(error, ValidationError) else [error]
        self.errors.setdefault(key, []).extend(str(message) for message in messages)
        self.cleaned.pop(key, None)


@dataclass(frozen=True)
class ImportBatch:
    """A spec's batched path: rows are checked and applied `size` rows at a time.

    The framework cleans every cell with the form's fields (their clean() only: a batched
    spec's form declares cells, its clean_<field>() and clean() are not called), then runs
    each resolver once per chunk, then `check`; rows left without problems are clean. The
    clean rows are applied a chunk at a time in the file's one transaction."""

    # (the chunk's rows, the uploader): look up what they refer to in a fixed number of
    # queries, apply the record's rules to each row, add each problem to its row.
    check: Callable[[list[ImportRow], Any], None]
    # (clean rows of one chunk, the uploader) -> how many were "created", "updated",
    # "unchanged".
    apply: Callable[[list[dict[str, Any]], Any], Mapping[str, int]]
    # Per column, what a form's clean_<field>() does for one row, for a whole chunk:
    # (the column's distinct cleaned values, the uploader) -> each value's replacement, or
    # the ValidationError its rows report in that column.
    resolvers: Mapping[str, Callable[[set[Any], Any], Mapping[Any, Any]]] = field(
        default_factory=dict
    )
    size: int = 1000


@dataclass
class ImportSpec:
    kind: str
    label: Any
    permission: str
    columns: list[ImportColumn]
    form_class: type[forms.Form]
    natural_key: Callable[[dict[str, Any]], tuple[Any, ...]]
    # (cleaned row, actor) -> "created" | "updated" | "unchanged"; None with a batch.
    apply_row: Callable[[dict[str, Any], Any], str] | None = None
    form_kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda actor: {})
    batch: ImportBatch | None = None


SPECS: dict[str, ImportSpec] = {}


def import_spec_register(spec: ImportSpec) -> ImportSpec:
    if (spec.apply_row is None) == (spec.batch is None):
        raise ValueError(f"Import spec {spec.kind}: give either apply_row or a batch.")
    SPECS[spec.kind] = spec
    return spec


def values_in(field: Any, values: Iterable[Any]) -> Any:
    """The right-hand side of `<field>__in` for a chunk's many values. On PostgreSQL it is
    one array parameter (`IN (SELECT unnest(%s::type[]))`): a thousand placeholders cost
    more to build and parse — in Django, psycopg and the server — than the look-up itself.
    Elsewhere it is the values."""
    values = list(values)
    connection = connections[router.db_for_read(field.model)]
    if connection.vendor != "postgresql":
        return values
    column_type = field.db_type(connection)  # from the model, never from the file
    return RawSQL(f"SELECT unnest(%s::{column_type}[])", (values,))  # noqa: S611  (values bound)


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
    checked = _rows_checked_in_chunks if spec.batch is not None else _rows_checked_one_by_one
    for number, problems, cleaned, labels in checked(job, spec, header, rows):
        if problems:
            for name, messages in problems.items():
                column = labels.get(name, "" if name == NON_FIELD_ERRORS else name)
                errors.extend(
                    {"row": number, "column": column, "message": str(message)}
                    for message in messages
                )
            continue
        key = spec.natural_key(cleaned)
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
            clean.append(cleaned)
    job.errors = errors
    return clean


# (row number, problems by field, cleaned values, column header by field) of each row.
CheckedRow = tuple[int, Mapping[str, list[Any]], dict[str, Any], dict[str, str]]


def _rows_checked_one_by_one(
    job: ImportJob, spec: ImportSpec, header: list[str], rows: list[list[Any]]
) -> Iterator[CheckedRow]:
    extra = spec.form_kwargs(job.uploaded_by)
    for number, data, labels in iterate_rows(spec, header, rows):
        form = spec.form_class(data=data, **extra)
        valid = form.is_valid()
        yield number, ({} if valid else form.errors), form.cleaned_data, labels
        if (number - 1) % PROGRESS_EVERY == 0:
            ImportJob.objects.filter(pk=job.pk).update(processed_rows=number - 1)


def _rows_checked_in_chunks(
    job: ImportJob, spec: ImportSpec, header: list[str], rows: list[list[Any]]
) -> Iterator[CheckedRow]:
    batch = spec.batch
    assert batch is not None
    numbered = list(iterate_rows(spec, header, rows))
    for start in range(0, len(numbered), batch.size):
        part = numbered[start : start + batch.size]
        chunk = _cells_cleaned(spec, batch, [(number, data) for number, data, _ in part], job)
        batch.check(chunk, job.uploaded_by)
        for row, (_number, _data, labels) in zip(chunk, part, strict=True):
            yield row.number, row.errors, row.cleaned, labels
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=start + len(part))


def _cells_cleaned(
    spec: ImportSpec, batch: ImportBatch, part: list[tuple[int, dict[str, Any]]], job: ImportJob
) -> list[ImportRow]:
    """The chunk's rows with each cell cleaned by its form field, then by the column's
    resolver, the problems in the form's order (by field, fields in declaration order)."""
    # The form class's own field instances: a field's clean() keeps no state between calls,
    # and building a form per row (a deep copy of every field) would cost more than the check.
    # A cell's outcome depends on its text alone, so a text repeated down a column (a status,
    # a date, a department) is cleaned once per chunk.
    fields = spec.form_class.base_fields
    known: dict[tuple[str, Any], Any] = {}
    outcomes: list[dict[str, Any]] = []
    for _number, data in part:
        outcome: dict[str, Any] = {}
        for name, form_field in fields.items():
            text = form_field.widget.value_from_datadict(data, {}, name)
            key = (name, text) if isinstance(text, str | None) else None
            if key is not None and key in known:
                outcome[name] = known[key]
                continue
            try:
                outcome[name] = form_field.clean(text)
            except ValidationError as error:
                outcome[name] = error
            if key is not None:
                known[key] = outcome[name]
        outcomes.append(outcome)
    for name, resolve in batch.resolvers.items():
        values = {
            outcome[name] for outcome in outcomes if not isinstance(outcome[name], ValidationError)
        }
        found = resolve(values, job.uploaded_by) if values else {}
        for outcome in outcomes:
            if not isinstance(outcome[name], ValidationError):
                outcome[name] = found[outcome[name]]
    chunk = []
    for (number, data), outcome in zip(part, outcomes, strict=True):
        row = ImportRow(number=number, data=data)
        for name, value in outcome.items():
            if isinstance(value, ValidationError):
                row.add_error(name, value)
            else:
                row.cleaned[name] = value
        chunk.append(row)
    return chunk


@contextlib.contextmanager
def _columns_known(spec: ImportSpec, header: list[str]) -> Iterator[None]:
    """Let `import_changes` know which of the spec's columns the file has."""
    present = frozenset(column.field for column in map_columns(spec, header).values())
    token = _COLUMNS.set((frozenset(column.field for column in spec.columns), present))
    try:
        yield
    finally:
        _COLUMNS.reset(token)


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
            # A batch judges a row as the import would apply it, so it knows the columns
            # while checking too (a row-by-row spec learns them only when applying).
            with _columns_known(spec, header) if spec.batch else contextlib.nullcontext():
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
        counts: Counter[str] = Counter(created=0, updated=0, unchanged=0)
        try:
            with (
                _columns_known(spec, header),
                transaction.atomic(),
                audit_context(actor=job.uploaded_by, job=f"import:{job.kind}"),
            ):
                if spec.batch is not None:
                    size = spec.batch.size
                    for start in range(0, len(clean), size):
                        counts.update(
                            spec.batch.apply(clean[start : start + size], job.uploaded_by)
                        )
                else:
                    assert spec.apply_row is not None
                    for row in clean:
                        counts[spec.apply_row(row, job.uploaded_by)] += 1
        except Exception as error:  # a row refused while applying: nothing was saved
            message = getattr(error, "message", None) or str(error)
            return _finish(
                job, ImportJob.Status.FAILED, errors=[{"row": 0, "column": "", "message": message}]
            )
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
    from medservice.core.attachments import spreadsheet_check
    from medservice.core.tasks import run_import

    spec = SPECS[kind]
    if not actor.has_perm(spec.permission):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    spreadsheet_check(upload)  # issue 12 security: refused before anything is stored
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
