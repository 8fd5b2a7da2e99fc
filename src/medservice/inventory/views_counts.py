"""Stock count pages: the resource (list, detail, start), the count's page with the actions
allowed now, the printable count sheet where counted quantities are entered (blind: no book
quantities while counting), and one action view per workflow step."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, PermissionDeniedError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Resource, register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.core.workflow import actions_allowed
from medservice.inventory.api.counts import StockCountSerializer
from medservice.inventory.choices import Condition, StockCountStatus
from medservice.inventory.counts import (
    book_quantities_visible,
    line_label,
    stock_count_approve,
    stock_count_cancel,
    stock_count_record,
    stock_count_reopen,
    stock_count_start,
    stock_count_submit,
    stock_count_summary,
)
from medservice.inventory.models import StockCount
from medservice.inventory.selectors import counts_visible_to, locations_visible_to, parts_visible_to
from medservice.inventory.services import quantity_text
from medservice.inventory.workflow import STOCK_COUNT_TRANSITIONS

# How many blank rows the sheet offers for items found that are not on the books.
FOUND_ROWS = 5


class StockCountFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=StockCountStatus.choices
    )
    location = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Location"),
        queryset=lambda request: locations_visible_to(getattr(request, "user", None)),
    )

    class Meta:
        model = StockCount
        fields = ["status", "location"]


class StockCountStartForm(ResourceForm):
    """Start a count: the location to freeze and count."""

    note = forms.CharField(
        label=gettext_lazy("Note (why the count is taken)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = StockCount
        fields = ["location"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations_visible_to(self.user).filter(active=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


def stock_count_create(*, actor: Any, model: type[StockCount], data: dict[str, Any]) -> StockCount:
    """The resource's create: starting a count (UI form and API POST alike)."""
    return stock_count_start(actor=actor, location=data["location"], reason=data.get("note", ""))


ACTION_SERVICES = {
    "submit": lambda *, actor, count, reason: stock_count_submit(actor=actor, count=count),
    "reopen": stock_count_reopen,
    "approve": stock_count_approve,
    "cancel": stock_count_cancel,
}
# The actions whose form asks for a reason (approve: only when there are variances).
REASON_ACTIONS = {"reopen", "approve", "cancel"}


def _line_rows(count: StockCount, show_book: bool) -> list[dict[str, Any]]:
    rows = []
    for line in count.lines.select_related("part", "lot").order_by("part__number", "pk"):
        rows.append(
            {
                "line": line,
                "label": line_label(line),
                "book": line.book_quantity if show_book else None,
                "variance": line.variance if show_book else None,
            }
        )
    return rows


class StockCountDetailView(ResourceDetailView):
    extra_template = "inventory/stock_count_panel.html"

    def extra_context_for(self, obj: StockCount) -> dict[str, Any]:
        user = self.request.user
        show_book = book_quantities_visible(obj, user)
        actions = []
        for name, item in actions_allowed(STOCK_COUNT_TRANSITIONS, obj, user):
            actions.append(
                {
                    "name": name,
                    "transition": item,
                    "form": ReasonForm(prefix=name) if name in REASON_ACTIONS else None,
                }
            )
        return {
            "count": obj,
            "actions": actions,
            "line_rows": _line_rows(obj, show_book),
            "show_book": show_book,
            "summary": stock_count_summary(obj),
        }


stock_counts = register(
    Resource(
        name="stock-counts",
        model=StockCount,
        selector=counts_visible_to,
        namespace="inventory",
        list_columns=[
            "number",
            "location",
            "status",
            "started_at",
            "started_by",
            "submitted_by",
            "approved_by",
        ],
        detail_fields=[
            "number",
            "location",
            "status",
            "started_by",
            "started_at",
            "submitted_by",
            "submitted_at",
            "approved_by",
            "approved_at",
            "reason",
        ],
        export_fields=[
            "id",
            "number",
            "location",
            "status",
            "started_at",
            "started_by",
            "submitted_at",
            "submitted_by",
            "approved_at",
            "approved_by",
            "reason",
        ],
        form_class=StockCountStartForm,
        filterset_class=StockCountFilter,
        serializer_class=StockCountSerializer,
        search_fields=["number"],
        ordering_fields=["number", "started_at", "status"],
        default_ordering=["-started_at", "-id"],
        select_related=["location", "started_by", "submitted_by", "approved_by"],
        create=stock_count_create,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=StockCountDetailView,
    )
)


def _detail_again(request: HttpRequest, count: StockCount, status: int) -> HttpResponse:
    view = StockCountDetailView()
    view.resource = stock_counts
    view.request = request
    view.kwargs = {"pk": count.pk}
    response = view.get(request, pk=count.pk)
    response.status_code = status
    return response


def _scoped_count(request: HttpRequest, pk: int) -> StockCount:
    if not request.user.has_perm("inventory.view_stockcount"):
        raise Http404
    return get_object_or_404(counts_visible_to(request.user).select_related("location"), pk=pk)


# --- The count sheet --------------------------------------------------------------------------


def _found_rows(data: Any = None) -> list[dict[str, Any]]:
    rows = []
    for index in range(1, FOUND_ROWS + 1):
        prefix = f"found-{index}-"
        rows.append(
            {
                "index": index,
                "prefix": prefix,
                "part": (data or {}).get(f"{prefix}part", ""),
                "lot_number": (data or {}).get(f"{prefix}lot_number", ""),
                "serial_number": (data or {}).get(f"{prefix}serial_number", ""),
                "condition": (data or {}).get(f"{prefix}condition", Condition.GOOD),
                "counted_quantity": (data or {}).get(f"{prefix}counted_quantity", ""),
            }
        )
    return rows


def _sheet(
    request: HttpRequest,
    count: StockCount,
    *,
    status: int = 200,
    posted: Any = None,
    errors: dict[str, list[str]] | None = None,
    message: str = "",
) -> HttpResponse:
    user = request.user
    show_book = book_quantities_visible(count, user)
    can_record = any(name == "record" for name, _item in actions_allowed(
        STOCK_COUNT_TRANSITIONS, count, user))  # fmt: skip
    rows = _line_rows(count, show_book)
    errors = errors or {}
    for row in rows:
        key = f"counted_{row['line'].pk}"
        counted = row["line"].counted_quantity
        if posted is not None:
            row["value"] = posted.get(key, "")
        else:
            row["value"] = "" if counted is None else quantity_text(counted)
        row["errors"] = errors.get(f"counted.{row['line'].pk}", [])
        row["name"] = key
    found = _found_rows(posted)
    for row in found:
        row["errors"] = [
            problem
            for name, problems in errors.items()
            if name.startswith(f"extra_lines.{row['index']}.")
            for problem in problems
        ]
    return render(
        request,
        "inventory/stock_count_sheet.html",
        {
            "count": count,
            "rows": rows,
            "found_rows": found,
            "show_book": show_book,
            "can_record": can_record,
            "conditions": Condition.choices,
            "error_message": message,
        },
        status=status,
    )


@login_required
def stock_count_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The count sheet: printable, and the form where counted quantities are entered."""
    return _sheet(request, _scoped_count(request, pk))


stock_count_sheet.resource = stock_counts  # type: ignore[attr-defined]


@login_required
@require_POST
def stock_count_record_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the counted quantities typed on the sheet and the items found."""
    count = _scoped_count(request, pk)
    counted: dict[int, Any] = {}
    line_ids = set(count.lines.values_list("pk", flat=True))
    for key, value in request.POST.items():
        if key.startswith("counted_") and key[8:].isdigit() and int(key[8:]) in line_ids:
            counted[int(key[8:])] = value.strip()
    extra_lines = []
    unknown: dict[str, list[str]] = {}
    parts = parts_visible_to(request.user)
    for row in _found_rows(request.POST):
        number = (row["part"] or "").strip()
        if not number and not (row["counted_quantity"] or "").strip():
            continue  # an unused blank row
        part = parts.filter(number=number).first() if number else None
        if part is None:
            unknown[f"extra_lines.{row['index']}.part"] = [
                _("No part numbered “%(number)s”.") % {"number": number}
                if number
                else _("Give the part number.")
            ]
            continue
        extra_lines.append(
            {
                "part": part,
                "lot_number": row["lot_number"],
                "serial_number": row["serial_number"],
                "condition": row["condition"],
                "counted_quantity": row["counted_quantity"],
                "position": row["index"],
            }
        )
    if unknown:
        return _sheet(request, count, status=400, posted=request.POST, errors=unknown,
                      message=_("The counts were not recorded."))  # fmt: skip
    try:
        stock_count_record(
            actor=request.user,
            count=count,
            counted=counted,
            extra_lines=_renumbered(extra_lines),
        )
    except PermissionDeniedError as error:
        messages.error(request, error.message)
        return _sheet(request, count, status=403)
    except DomainError as error:
        fields = _positions(error.fields, extra_lines)
        return _sheet(request, count, status=error.status, posted=request.POST, errors=fields,
                      message=error.message)  # fmt: skip
    messages.success(request, _("The counted quantities are saved."))
    return redirect("inventory:stock-count-sheet", pk=count.pk)


stock_count_record_view.resource = stock_counts  # type: ignore[attr-defined]


def _renumbered(extra_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in item.items() if key != "position"}
            for item in extra_lines]  # fmt: skip


def _positions(
    fields: dict[str, list[str]], extra_lines: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Map the service's extra_lines.<n> (n-th line sent) back to the sheet's row numbers."""
    result: dict[str, list[str]] = {}
    for name, problems in fields.items():
        if name.startswith("extra_lines."):
            _prefix, position, *rest = name.split(".")
            if position.isdigit() and 0 < int(position) <= len(extra_lines):
                row = extra_lines[int(position) - 1]["position"]
                name = ".".join(["extra_lines", str(row), *rest])
        result[name] = problems
    return result


# --- Workflow actions -------------------------------------------------------------------------


@login_required
@require_POST
def stock_count_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one workflow action (submit, reopen, approve, cancel) from the count's page."""
    count = _scoped_count(request, pk)
    if name not in ACTION_SERVICES:
        raise Http404
    form = ReasonForm(request.POST, prefix=name)
    reason = form.data.get(f"{name}-reason", "") or request.POST.get("reason", "")
    try:
        ACTION_SERVICES[name](actor=request.user, count=count, reason=reason)
    except DomainError as error:
        # Shown above the page, in the user's language; the count is unchanged.
        problems = [problem for items in error.fields.values() for problem in items]
        messages.error(request, " ".join([error.message, *problems[:5]]))
        return _detail_again(request, count, error.status)
    label = STOCK_COUNT_TRANSITIONS[name].label
    messages.success(request, _("%(action)s: done.") % {"action": label})
    return redirect("inventory:stock-counts-detail", pk=count.pk)


stock_count_action.resource = stock_counts  # type: ignore[attr-defined]


urlpatterns = [
    *resource_urlpatterns(stock_counts),
    path(
        "stock-counts/<int:pk>/sheet/",
        stock_count_sheet,
        name="stock-count-sheet",
    ),
    path(
        "stock-counts/<int:pk>/record/",
        stock_count_record_view,
        name="stock-count-record",
    ),
    path(
        "stock-counts/<int:pk>/<slug:name>/",
        stock_count_action,
        name="stock-count-action",
    ),
]
