"""The requisition pages (申领): the resource (list, record page, API), the phone-friendly
"request parts" form, one small form per workflow action on the record page, and the
engineer's "My stock" page with the way back (return) for what they did not use.

Forms check shape only; the services in inventory/requisitions.py decide, and their refusals
come back on the named fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, QuerySet
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.registry import Resource, register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.inventory.api.requisitions import (
    RequisitionSerializer,
    requisition_create_from_api,
)
from medservice.inventory.choices import (
    WAREHOUSE_KINDS,
    LocationKind,
    MovementKind,
    RequisitionStatus,
)
from medservice.inventory.forms import part_autocomplete
from medservice.inventory.models import Requisition, RequisitionLine, StockMovement
from medservice.inventory.requisitions import (
    requisition_actions_allowed,
    requisition_approve,
    requisition_cancel,
    requisition_create,
    requisition_issue,
    requisition_receive,
    requisition_reject,
    requisition_return,
)
from medservice.inventory.selectors import (
    balances_visible_to,
    locations_visible_to,
    parts_visible_to,
    requisitions_visible_to,
)
from medservice.inventory.services import engineer_location_for, quantity_text
from medservice.inventory.workflow import REQUISITION_TRANSITIONS

QUANTITY = {"max_digits": 12, "decimal_places": 3}
LINE_ROWS = 5


def _bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


def _warehouses(user: Any) -> QuerySet:
    return locations_visible_to(user).filter(kind__in=WAREHOUSE_KINDS, active=True).order_by("code")


# --- List filters -----------------------------------------------------------------------------


class RequisitionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=RequisitionStatus.choices
    )
    requester = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Requested by"), queryset=lambda request: _requesters(request)
    )
    source = django_filters.ModelChoiceFilter(
        label=gettext_lazy("From warehouse"),
        queryset=lambda request: _warehouses(getattr(request, "user", None)),
    )
    mine = django_filters.BooleanFilter(method="filter_mine", label=gettext_lazy("Mine"))

    class Meta:
        model = Requisition
        fields = ["status", "requester", "source"]

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(requester=user)


def _requesters(request: Any) -> QuerySet:
    from medservice.accounts.models import User

    user = getattr(request, "user", None)
    # Only people who have requested parts the user may see: never the whole user table.
    ids = requisitions_visible_to(user).values("requester")
    return User.objects.filter(pk__in=ids).order_by("username")


# --- The record page --------------------------------------------------------------------------


class RequestForm(forms.Form):
    """The header of a request for parts."""

    source = forms.ModelChoiceField(label=gettext_lazy("From warehouse"), queryset=None)
    reference = forms.CharField(
        label=gettext_lazy("For (ticket or work order)"), max_length=100, required=False
    )
    needed_by = forms.DateField(
        label=gettext_lazy("Needed by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = _warehouses(user)
        _bootstrap(self)


class RequestLineForm(forms.Form):
    """One part and its quantity; an empty row is skipped."""

    part = forms.ModelChoiceField(
        label=gettext_lazy("Part"), queryset=None, required=False, widget=part_autocomplete()
    )
    quantity = forms.DecimalField(
        label=gettext_lazy("Quantity"),
        required=False,
        min_value=Decimal("0.001"),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
        **QUANTITY,
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["part"].queryset = parts_visible_to(user).filter(active=True).order_by("number")
        _bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        part, quantity = data.get("part"), data.get("quantity")
        if part is not None and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", _("Give the quantity."))
        if part is None and quantity is not None:
            self.add_error("part", _("Choose the part."))
        return data


RequestLineFormSet = formset_factory(RequestLineForm, extra=LINE_ROWS, max_num=50)


class ApproveForm(forms.Form):
    """The approved quantity of each line (at most what was asked; zero leaves it out)."""

    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, requisition: Requisition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for line in _lines_of(requisition):
            self.fields[f"approved_{line.pk}"] = forms.DecimalField(
                label=_("%(part)s (asked %(asked)s)")
                % {"part": line.part, "asked": quantity_text(line.quantity)},
                initial=quantity_text(line.quantity),
                min_value=0,
                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
                **QUANTITY,
            )
        self.order_fields([name for name in self.fields if name != "note"] + ["note"])
        _bootstrap(self)

    def service_arguments(self) -> dict[str, Any]:
        quantities = {
            int(name.removeprefix("approved_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("approved_")
        }
        return {"quantities": quantities, "note": self.cleaned_data["note"]}


class RejectForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, requisition: Requisition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def service_arguments(self) -> dict[str, Any]:
        return {"reason": self.cleaned_data["reason"]}


class CancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False)

    def __init__(self, *args: Any, requisition: Requisition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def service_arguments(self) -> dict[str, Any]:
        return {"reason": self.cleaned_data["reason"]}


class ConfirmForm(forms.Form):
    """An action without inputs (issue, confirm receipt)."""

    def __init__(self, *args: Any, requisition: Requisition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def service_arguments(self) -> dict[str, Any]:
        return {}


class ReturnForm(forms.Form):
    """Per line, how many unused parts go back to the warehouse and how many defective ones
    to quarantine."""

    quarantine = forms.ModelChoiceField(
        label=gettext_lazy("Quarantine (for defective parts)"), queryset=None, required=False
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False)

    def __init__(self, *args: Any, requisition: Requisition, user: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        names = []
        for line in _lines_of(requisition):
            outstanding = line.quantity_issued - line.quantity_returned
            if outstanding <= 0:
                continue
            for kind, label in (
                ("unused", _("%(part)s: unused (up to %(left)s)")),
                ("defective", _("%(part)s: defective (up to %(left)s)")),
            ):
                name = f"{kind}_{line.pk}"
                self.fields[name] = forms.DecimalField(
                    label=label % {"part": line.part, "left": quantity_text(outstanding)},
                    required=False,
                    min_value=0,
                    widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
                    **QUANTITY,
                )
                names.append(name)
        quarantines = locations_visible_to(user).filter(kind=LocationKind.QUARANTINE, active=True)
        self.fields["quarantine"].queryset = quarantines.order_by("code")
        if quarantines.count() == 1:
            self.fields["quarantine"].initial = quarantines.get().pk
        self.order_fields([*names, "quarantine", "reason"])
        _bootstrap(self)

    def service_arguments(self) -> dict[str, Any]:
        unused, defective = {}, {}
        for name, value in self.cleaned_data.items():
            if value is None:
                continue
            if name.startswith("unused_"):
                unused[int(name.removeprefix("unused_"))] = value
            elif name.startswith("defective_"):
                defective[int(name.removeprefix("defective_"))] = value
        return {
            "quantities": unused,
            "defective": defective,
            "quarantine": self.cleaned_data.get("quarantine"),
            "reason": self.cleaned_data["reason"],
        }


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "approve": ApproveForm,
    "reject": RejectForm,
    "issue": ConfirmForm,
    "receive": ConfirmForm,
    "return": ReturnForm,
    "cancel": CancelForm,
}
ACTION_SERVICES = {
    "approve": requisition_approve,
    "reject": requisition_reject,
    "issue": requisition_issue,
    "receive": requisition_receive,
    "return": requisition_return,
    "cancel": requisition_cancel,
}
# Where a service names a field (quantities.<line id>), the form field that shows it.
FIELD_PREFIXES = {"approve": {"quantities": "approved"}, "return": {"quantities": "unused"}}


def _lines_of(requisition: Requisition) -> list[RequisitionLine]:
    cached = getattr(requisition, "_lines_cache", None)
    if cached is None:
        cached = list(requisition.lines.select_related("part").order_by("pk"))
        requisition._lines_cache = cached  # type: ignore[attr-defined]
    return cached


def _action_form(name: str, requisition: Requisition, user: Any, data: Any = None) -> forms.Form:
    form_class = ACTION_FORMS[name]
    if form_class is ReturnForm:
        return ReturnForm(data, requisition=requisition, user=user)
    return form_class(data, requisition=requisition)


class RequisitionDetailView(ResourceDetailView):
    """The requisition's page adds its lines (asked, approved, issued, returned and the lots
    issued) and the actions the user may take now, each as a small form."""

    extra_template = "inventory/requisition_panel.html"
    bound_forms: dict[str, forms.Form] | None = None

    def extra_context_for(self, obj: Requisition) -> dict[str, Any]:
        lines = _lines_of(obj)
        lots: dict[int, list[str]] = {}
        issues = (
            StockMovement.objects.filter(requisition_line__in=lines, kind=MovementKind.ISSUE)
            .select_related("lot")
            .order_by("pk")
        )
        for movement in issues:
            label = (
                (movement.lot.serial_number or movement.lot.lot_number)
                if movement.lot is not None
                else ""
            )
            if label:
                lots.setdefault(movement.requisition_line_id, []).append(
                    f"{label} × {quantity_text(movement.quantity)}"
                )
        bound = self.bound_forms or {}
        actions = [
            {
                "name": name,
                "transition": item,
                "form": bound.get(name) or _action_form(name, obj, self.request.user),
                "open": name in bound,
            }
            for name, item in requisition_actions_allowed(obj, self.request.user)
        ]
        return {
            "requisition_lines": [
                {
                    "line": line,
                    "approved": "—"
                    if line.quantity_approved is None
                    else quantity_text(line.quantity_approved),
                    "asked": quantity_text(line.quantity),
                    "issued": quantity_text(line.quantity_issued),
                    "returned": quantity_text(line.quantity_returned),
                    "lots": lots.get(line.pk, []),
                }
                for line in lines
            ],
            "requisition_actions": actions,
        }


requisitions = register(
    Resource(
        name="requisitions",
        model=Requisition,
        selector=requisitions_visible_to,
        namespace="inventory",
        list_columns=[
            "number",
            "status",
            "requester",
            "source",
            "destination",
            "reference",
            "needed_by",
            "created_at",
        ],
        detail_fields=[
            "number",
            "status",
            "requester",
            "source",
            "destination",
            "reference",
            "needed_by",
            "reason",
            "decided_by",
            "decided_at",
            "decision_note",
            "issued_by",
            "issued_at",
            "received_at",
            "created_at",
        ],
        export_fields=[
            "id",
            "number",
            "status",
            "requester",
            "source",
            "destination",
            "reference",
            "needed_by",
            "decided_by",
            "decided_at",
            "issued_at",
            "received_at",
            "created_at",
        ],
        filterset_class=RequisitionFilter,
        serializer_class=RequisitionSerializer,
        search_fields=["number", "reference"],
        ordering_fields=["created_at", "needed_by", "number"],
        default_ordering=["-id"],
        select_related=["requester", "source", "destination"],
        create=requisition_create_from_api,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=RequisitionDetailView,
        create_url_name="inventory:requisition-request",
    )
)


# --- Views ------------------------------------------------------------------------------------


@login_required
def requisition_request(request: HttpRequest) -> HttpResponse:
    """Request parts: a warehouse, what for, by when, and a few part + quantity rows."""
    user = request.user
    if not user.has_perm("inventory.add_requisition"):
        raise Http404
    form = RequestForm(request.POST or None, user=user)
    rows = RequestLineFormSet(request.POST or None, prefix="lines", form_kwargs={"user": user})
    status = 200
    if request.method == "POST":
        if form.is_valid() and rows.is_valid():
            lines = [
                (row.cleaned_data["part"], row.cleaned_data["quantity"])
                for row in rows
                if row.cleaned_data.get("part") is not None
            ]
            try:
                requisition = requisition_create(
                    actor=user,
                    source=form.cleaned_data["source"],
                    lines=lines,
                    reference=form.cleaned_data["reference"],
                    needed_by=form.cleaned_data["needed_by"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                _errors_onto(form, error, rows=rows)
                status = error.status
            else:
                messages.success(
                    request,
                    _("Requisition %(number)s is sent to the warehouse.")
                    % {"number": requisition.number},
                )
                return redirect("inventory:requisitions-detail", pk=requisition.pk)
        else:
            status = 400
    return render(
        request,
        "inventory/requisition_request.html",
        {"form": form, "rows": rows, "list_url": requisitions.url_name("list")},
        status=status,
    )


def _errors_onto(form: forms.Form, error: DomainError, *, rows: Any = None) -> None:
    """Put a service's refusal on the fields it names (lines.<n>.<field> on row n)."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        parts = name.split(".")
        for problem in problems:
            if rows is not None and parts[0] == "lines" and len(parts) == 3:
                position = int(parts[1]) - 1
                filled = [row for row in rows if row.cleaned_data.get("part") is not None]
                if 0 <= position < len(filled) and parts[2] in filled[position].fields:
                    filled[position].add_error(parts[2], problem)
                    continue
            form.add_error(name if name in form.fields else None, problem)


def _action_errors_onto(name: str, form: forms.Form, error: DomainError) -> None:
    form.add_error(None, error.message)
    prefixes = FIELD_PREFIXES.get(name, {})
    for field, problems in error.fields.items():
        head, _dot, line = field.partition(".")
        target = f"{prefixes.get(head, head)}_{line}" if line else field
        for problem in problems:
            form.add_error(target if target in form.fields else None, problem)


def _scoped_requisition(request: HttpRequest, pk: int) -> Requisition:
    if not request.user.has_perm("inventory.view_requisition"):
        raise Http404
    return get_object_or_404(requisitions_visible_to(request.user), pk=pk)


def _detail_again(
    request: HttpRequest, requisition: Requisition, status: int, **state: Any
) -> HttpResponse:
    view = RequisitionDetailView()
    view.resource = requisitions
    view.request = request
    view.kwargs = {"pk": requisition.pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=requisition.pk)
    response.status_code = status
    return response


@login_required
@require_POST
def requisition_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one workflow step from its small form; a refusal is shown on the page with what was
    typed kept."""
    requisition = _scoped_requisition(request, pk)
    if name not in ACTION_FORMS:
        raise Http404
    form = _action_form(name, requisition, request.user, request.POST)
    if not form.is_valid():
        return _detail_again(request, requisition, 400, bound_forms={name: form})
    try:
        ACTION_SERVICES[name](
            actor=request.user, requisition=requisition, **form.service_arguments()
        )
    except (PermissionDeniedError, InvalidTransitionError) as error:
        # Not offered to this user in this state, so its form is not on the page: say it above.
        messages.error(request, error.message)
        return _detail_again(request, requisition, error.status)
    except DomainError as error:
        _action_errors_onto(name, form, error)
        return _detail_again(request, requisition, error.status, bound_forms={name: form})
    messages.success(
        request, _("%(action)s: done.") % {"action": REQUISITION_TRANSITIONS[name].label}
    )
    return redirect("inventory:requisitions-detail", pk=requisition.pk)


requisition_action.resource = requisitions  # type: ignore[attr-defined]


@login_required
def my_stock(request: HttpRequest) -> HttpResponse:
    """What the engineer holds in their own stock, and the requisitions they may still return
    parts on."""
    user = request.user
    if not user.has_perm("inventory.view_stockbalance"):
        raise Http404
    location = engineer_location_for(user, create=False)
    balances = []
    if location is not None:
        balances = list(
            balances_visible_to(user)
            .filter(location=location, quantity__gt=0)
            .select_related("part", "lot")
            .order_by("part__number", "lot__expiry_date", "pk")
        )
    open_lines = (
        RequisitionLine.objects.filter(
            requisition__in=requisitions_visible_to(user).filter(
                requester=user, status=RequisitionStatus.RECEIVED
            ),
            quantity_returned__lt=F("quantity_issued"),
        )
        .select_related("requisition", "part")
        .order_by("-requisition_id", "pk")
    )
    returnable: dict[int, Requisition] = {}
    for line in open_lines:
        # The newest requisition the part came on is where it goes back from.
        returnable.setdefault(line.part_id, line.requisition)
    rows = [
        {"balance": balance, "requisition": returnable.get(balance.part_id)} for balance in balances
    ]
    can_return = user.has_perm("inventory.return_parts")
    return render(
        request,
        "inventory/my_stock.html",
        {"location": location, "rows": rows, "can_return": can_return},
    )


urlpatterns = [
    path("requisitions/request/", requisition_request, name="requisition-request"),
    *resource_urlpatterns(requisitions),
    path(
        "requisitions/<int:pk>/<str:name>/",
        requisition_action,
        name="requisition-action",
    ),
    path("my-stock/", my_stock, name="my-stock"),
]
