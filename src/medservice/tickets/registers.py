"""The complaint register (投诉登记表, SOP-1 1.b): every complaint and quality complaint — who
complained and how to recognise them, about which product, who owned it, what was done, when it
ended, how the customer confirmed it and how satisfied they were.

One page and one XLSX export of exactly the same columns, with the same filters (received
between, organisation, status), both starting from `tickets_visible_to`: internal roles see every
complaint, a distributor those of the customers it serves, a customer user its own. Phones are
masked for everyone (the ticket page unmasks, audited). The page and the export each run a fixed
number of queries whatever the number of rows (one joined query for the rows).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import django_filters
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from medservice.core.crypto import mask_phone
from medservice.core.pagination import DeferredJoinPaginator
from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.tickets.choices import Channel, ConfirmationMethod, ResolutionType, TicketKind
from medservice.tickets.models import Ticket
from medservice.tickets.selectors import tickets_visible_to

COMPLAINT_KINDS = (TicketKind.COMPLAINT, TicketKind.QUALITY_COMPLAINT)
PAGE_SIZE = 50
EXPORT_CHUNK = 2000
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # lazy: translated when the page or the file is made, in the user's language
    width: int  # in the XLSX, in characters


# The headers carry a context (a literal, for makemessages): the register's own wording, e.g.
# 投诉内容 rather than a generic 描述 for "Description".
COLUMNS: tuple[Column, ...] = (
    Column("number", pgettext_lazy("complaint register", "Number"), 16),
    Column("received_at", pgettext_lazy("complaint register", "Received at"), 17),
    Column("channel", pgettext_lazy("complaint register", "Channel"), 14),
    Column("complainant", pgettext_lazy("complaint register", "Complainant"), 22),
    Column("organization", pgettext_lazy("complaint register", "Organisation"), 24),
    Column("product", pgettext_lazy("complaint register", "Product"), 20),
    Column("model", pgettext_lazy("complaint register", "Model"), 16),
    Column("serial_or_batch", pgettext_lazy("complaint register", "Serial or batch"), 16),
    Column("description", pgettext_lazy("complaint register", "Description"), 40),
    Column("owner", pgettext_lazy("complaint register", "Owner"), 12),
    Column("solution", pgettext_lazy("complaint register", "Solution"), 40),
    Column("completed_at", pgettext_lazy("complaint register", "Completed at"), 17),
    Column("confirmation", pgettext_lazy("complaint register", "Customer confirmation"), 32),
    Column("satisfaction", pgettext_lazy("complaint register", "Satisfaction"), 10),
)


class ComplaintRegisterFilter(ScopedFilterSet):
    """Received between two dates (in the user's time zone), one organisation (chosen among
    those the user may see, through the autocomplete), one status."""

    received_at = django_filters.DateFromToRangeFilter(label=_("received between"))

    class Meta:
        model = Ticket
        fields = ["received_at", "organization", "status"]


def complaints_visible_to(user: Any) -> QuerySet[Ticket]:
    return tickets_visible_to(user).filter(kind__in=COMPLAINT_KINDS)


def complaint_register_queryset(filterset: ComplaintRegisterFilter) -> QuerySet[Ticket]:
    """The filtered complaints, newest first, with everything a row shows joined in. A filter
    that is not valid (an organisation outside the user's scope, a malformed date) matches
    nothing rather than being ignored: an export never holds more than was asked for."""
    if filterset.is_bound and not filterset.is_valid():
        queryset = filterset.queryset.none()
    else:
        queryset = filterset.qs
    return (
        queryset.select_related(
            "organization",
            "contact",
            "device",
            "device__device_model",
            "device_model",
            "owner",
        )
        .only(*REGISTER_FIELDS)
        .order_by("-received_at", "-id")
    )


# The columns the register reads (a ticket row has about 75; an export of thousands of
# complaints builds each of them otherwise).
REGISTER_FIELDS = (
    "number",
    "kind",
    "received_at",
    "channel",
    "organization__name",
    "contact__name",
    "contact__phone",
    "contact__mobile",
    "reporter_name",
    "reporter_phone",
    "device__serial_number",
    "device__batch_number",
    "device__device_model__name",
    "device__device_model__model_spec",
    "device_model__name",
    "device_model__model_spec",
    "product_reported",
    "serial_reported",
    "description",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "solution",
    "resolution_type",
    "resolution",
    "resolved_at",
    "closed_at",
    "confirmed_at",
    "confirmed_by_name",
    "confirmation_method",
    "rating",
)


@dataclass(frozen=True)
class Labels:
    """The choices' labels in the current language, looked up once per page or export (the
    model's get_FOO_display() rebuilds its table on every call: a third of an export's time)."""

    channel: dict[str, str]
    resolution_type: dict[str, str]
    confirmation_method: dict[str, str]

    @classmethod
    def current(cls) -> Labels:
        return cls(
            channel={value: str(label) for value, label in Channel.choices},
            resolution_type={value: str(label) for value, label in ResolutionType.choices},
            confirmation_method={value: str(label) for value, label in ConfirmationMethod.choices},
        )


def _person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime(DATETIME_FORMAT) if moment else ""


def _complainant(ticket: Ticket) -> str:
    contact = ticket.contact if ticket.contact_id else None
    name = (contact.name if contact is not None else "") or ticket.reporter_name or ""
    phone = ""
    if contact is not None:
        phone = contact.mobile or contact.phone or ""
    phone = phone or ticket.reporter_phone or ""
    return " ".join(part for part in (name, mask_phone(phone) if phone else "") if part)


def _serial_or_batch(ticket: Ticket) -> str:
    device = ticket.device if ticket.device_id else None
    if device is None:
        return ticket.serial_reported
    return " / ".join(part for part in (device.serial_number, device.batch_number) if part)


def _solution(ticket: Ticket, labels: Labels) -> str:
    """The agreed solution and, once resolved, what was done."""
    lines = [ticket.solution.strip()] if ticket.solution.strip() else []
    resolution = ticket.resolution.strip()
    if resolution and ticket.resolution_type:
        resolution = gettext("%(type)s: %(resolution)s") % {
            "type": labels.resolution_type.get(ticket.resolution_type, ticket.resolution_type),
            "resolution": resolution,
        }
    if resolution:
        lines.append(resolution)
    return "\n".join(lines)


def _confirmation(ticket: Ticket, labels: Labels) -> str:
    """Who confirmed the resolution, how and when; or that it closed without an answer."""
    how = labels.confirmation_method.get(ticket.confirmation_method, ticket.confirmation_method)
    if ticket.confirmation_method == ConfirmationMethod.AUTOMATIC:
        return gettext("%(how)s, %(when)s") % {"how": how, "when": _local(ticket.closed_at)}
    if ticket.confirmed_at is None:
        return ""
    return gettext("%(who)s, %(how)s, %(when)s") % {
        "who": ticket.confirmed_by_name,
        "how": how,
        "when": _local(ticket.confirmed_at),
    }


def register_row(ticket: Ticket, labels: Labels | None = None) -> dict[str, Any]:
    """One line of the register: text, aware datetimes (shown in the user's zone) and the
    rating as a number. Reads only what `complaint_register_queryset` loads."""
    labels = labels or Labels.current()
    device = ticket.device if ticket.device_id else None
    model = ticket.device_model if ticket.device_model_id else None
    if model is None and device is not None:
        model = device.device_model
    return {
        "pk": ticket.pk,
        "number": ticket.number,
        "received_at": ticket.received_at,
        "channel": labels.channel.get(ticket.channel, ticket.channel),
        "complainant": _complainant(ticket),
        "organization": str(ticket.organization) if ticket.organization_id else "",
        "product": (model.name if model is not None else "") or ticket.product_reported,
        "model": model.model_spec if model is not None else "",
        "serial_or_batch": _serial_or_batch(ticket),
        "description": ticket.description,
        "owner": _person(ticket.owner if ticket.owner_id else None),
        "solution": _solution(ticket, labels),
        "completed_at": ticket.resolved_at or ticket.closed_at,
        "confirmation": _confirmation(ticket, labels),
        "satisfaction": ticket.rating,
    }


# --- XLSX -----------------------------------------------------------------------------------------


def _xlsx_value(value: Any) -> Any:
    if value is None or value == "":
        return None  # an empty cell, not an empty string
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: the user's local time, as on the page.
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def register_xlsx(rows: Iterable[dict[str, Any]], *, title: str) -> bytes:
    """The register as a workbook: the translated headers, then one row per complaint with real
    date-times (sortable in Excel) and the rating as a number."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for index, column in enumerate(COLUMNS):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=str(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        cells: list[Any] = []
        for column in COLUMNS:
            value = _xlsx_value(row[column.key])
            if isinstance(value, datetime.datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = XLSX_DATETIME_FORMAT
            elif isinstance(value, str) and (value.startswith("=") or "\n" in value):
                cell = WriteOnlyCell(sheet, value=value)
                # What a complainant typed is text, never a formula ("=HYPERLINK(...)").
                cell.data_type = "s"
                if "\n" in value:
                    cell.alignment = wrap
            else:
                cell = value  # a plain value: openpyxl writes it as it is (no style)
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rows(tickets: Iterable[Ticket]) -> Iterator[dict[str, Any]]:
    labels = Labels.current()
    for ticket in tickets:
        yield register_row(ticket, labels)


# --- The page -------------------------------------------------------------------------------------


@login_required
def complaint_register(request: HttpRequest) -> HttpResponse:
    """The register page (50 complaints a page) and, with `?export=xlsx`, the whole filtered
    register as a workbook."""
    if not request.user.has_perm("tickets.view_ticket"):
        raise PermissionDenied
    filterset = ComplaintRegisterFilter(
        request.GET or None, queryset=complaints_visible_to(request.user), request=request
    )
    queryset = complaint_register_queryset(filterset)
    if request.GET.get("export") == "xlsx":
        title = gettext("Complaint register")
        content = register_xlsx(_rows(queryset.iterator(chunk_size=EXPORT_CHUNK)), title=title)
        response = HttpResponse(
            content,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="complaint-register-{stamp}.xlsx"'
        return response
    page = DeferredJoinPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(
        request,
        "tickets/registers/complaint_register.html",
        {
            "filterset": filterset,
            "columns": COLUMNS,
            "rows": list(_rows(page.object_list)),
            "page": page,
            "query": query.urlencode(),
        },
    )


urlpatterns = [
    path("registers/complaints/", complaint_register, name="complaint-register"),
]
