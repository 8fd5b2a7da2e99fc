"""The purchase orders pages: the registered resource (list, export, API), the order form with
its line rows, the order page with its lines, receipts and the actions allowed now (each a small
form posting to one action view), and the warehouse keeper's reorder suggestions.

Forms check shape only; the services in purchasing.py decide, and their refusals come back on
the named fields (`lines.<n>.<field>`, `receipts.<n>.<field>` mapped to the rows shown)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.catalog.selectors import suppliers_visible_to
from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Resource, register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.core.workflow import actions_allowed
from medservice.inventory.api.purchasing import PurchaseOrderSerializer
from medservice.inventory.choices import WAREHOUSE_KINDS, PurchaseOrderStatus
from medservice.inventory.forms import part_autocomplete
from medservice.inventory.models import PurchaseOrder, StockLocation
from medservice.inventory.purchasing import (
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_place,
    purchase_order_receive,
    purchase_order_update,
    purchase_orders_from_suggestions,
    reorder_suggestions,
)
from medservice.inventory.selectors import (
    locations_visible_to,
    movements_visible_to,
    parts_visible_to,
    purchase_orders_visible_to,
)
from medservice.inventory.workflow import PURCHASE_ORDER_TRANSITIONS

# --- Filters ----------------------------------------------------------------------------------


def _visible(selector: Any) -> Any:
    def queryset(request: Any) -> QuerySet:
        return selector(getattr(request, "user", None))

    return queryset


class PurchaseOrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=PurchaseOrderStatus.choices
    )
    supplier = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Supplier"), queryset=_visible(suppliers_visible_to)
    )
    destination = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Deliver to"), queryset=_visible(locations_visible_to)
    )
    expected_before = django_filters.DateFilter(
        label=gettext_lazy("Expected before"), field_name="expected_on", lookup_expr="lt"
    )

    class Meta:
        model = PurchaseOrder
        fields = ["status", "supplier", "destination", "expected_before"]


# --- Forms ------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _warehouses() -> QuerySet[StockLocation]:
    return StockLocation.objects.filter(kind__in=WAREHOUSE_KINDS, active=True).order_by("code")


class PurchaseOrderForm(ResourceForm):
    """The order's header; its lines are the rows of `LineRows` below."""

    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "destination", "expected_on", "supplier_reference", "notes"]
        widgets = {"expected_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers_visible_to(self.user)
        self.fields["destination"].queryset = _warehouses()


class LineRowForm(forms.Form):
    """One order line; an empty row is left out."""

    part = forms.ModelChoiceField(
        label=gettext_lazy("Part"),
        queryset=parts_visible_to(None),
        required=False,
        widget=part_autocomplete(),
    )
    quantity = forms.DecimalField(
        label=gettext_lazy("Quantity"),
        required=False,
        max_digits=12,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )
    unit_price = forms.DecimalField(
        label=gettext_lazy("Unit price"),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
        help_text=gettext_lazy("Empty: the part's standard cost."),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["part"].queryset = parts_visible_to(user).filter(active=True).order_by("number")

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) not in (None, "") for name in self.fields)


LineRows = forms.formset_factory(LineRowForm, extra=0)
EXTRA_ROWS = 5


class OrderInput:
    """The order form: header plus line rows, validated together."""

    def __init__(
        self, data: Any = None, *, user: Any, instance: PurchaseOrder | None = None
    ) -> None:
        self.instance = instance
        self.header = PurchaseOrderForm(data=data, instance=instance, user=user)
        initial = []
        if instance is not None:
            initial = [
                {"part": line.part_id, "quantity": line.quantity, "unit_price": line.unit_price}
                for line in instance.lines.order_by("pk")
            ]
        # Rows for the lines there are plus a few empty ones for more.
        initial += [{} for _row in range(EXTRA_ROWS)]
        self.rows = LineRows(data=data, prefix="lines", initial=initial, form_kwargs={"user": user})
        self.row_of: dict[int, forms.Form] = {}

    def is_valid(self) -> bool:
        header, rows = self.header.is_valid(), self.rows.is_valid()
        return header and rows

    def header_data(self) -> dict[str, Any]:
        return dict(self.header.cleaned_data)

    def lines(self) -> list[dict[str, Any]]:
        lines = []
        for row in self.rows.forms:
            if row.is_blank():
                continue
            lines.append(dict(row.cleaned_data))
            self.row_of[len(lines)] = row
        return lines

    def add_problems(self, error: DomainError) -> None:
        if not error.fields:
            self.header.add_error(None, error.message)
        for name, problems in error.fields.items():
            for problem in problems:
                _add_error(self.header, self.row_of, "lines", name, problem)


def _add_error(
    header: forms.Form, rows: dict[int, forms.Form], prefix: str, name: str, problem: str
) -> None:
    """Put a service problem on the field it names: a header field, a row's field, or the top
    of the form."""
    parts = name.split(".")
    if parts[0] == prefix and len(parts) >= 2 and parts[1].isdigit():
        row = rows.get(int(parts[1]))
        field = parts[2] if len(parts) > 2 else None
        if row is not None:
            row.add_error(field if field in row.fields else None, problem)
            return
    header.add_error(name if name in header.fields else None, problem)


class NoInput(forms.Form):
    """An action that asks nothing (placing the order)."""

    def __init__(self, *args: Any, order: PurchaseOrder | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def add_problems(self, error: DomainError) -> None:
        self.add_error(None, error.message)


class ReasonInput(NoInput):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )

    def add_problems(self, error: DomainError) -> None:
        if not error.fields:
            self.add_error(None, error.message)
        for name, problems in error.fields.items():
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)


class ReceiptRowForm(forms.Form):
    """What arrived of one outstanding line; a row left empty is not received."""

    line = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.DecimalField(
        label=gettext_lazy("Quantity received"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )
    lot_number = forms.CharField(
        label=gettext_lazy("Lot number"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    serial_numbers = forms.CharField(
        label=gettext_lazy("Serial numbers (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control", "spellcheck": "false"}),
    )
    expiry_date = forms.DateField(
        label=gettext_lazy("Expiry date"),
        required=False,
        widget=DateInput(attrs={"class": "form-control"}),
    )
    production_date = forms.DateField(
        label=gettext_lazy("Production date"),
        required=False,
        widget=DateInput(attrs={"class": "form-control"}),
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) not in (None, "") for name in self.fields if name != "line")


ReceiptRows = forms.formset_factory(ReceiptRowForm, extra=0)


class ReceiveHeaderForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Delivery note number"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class ReceiveInput:
    """The receive form: the delivery note plus one row per outstanding line."""

    def __init__(self, data: Any = None, *, order: PurchaseOrder) -> None:
        self.order = order
        self.lines = {
            line.pk: line
            for line in order.lines.select_related("part").order_by("pk")
            if line.outstanding > 0
        }
        self.header = ReceiveHeaderForm(data=data)
        self.rows = ReceiptRows(
            data=data, prefix="receipts", initial=[{"line": pk} for pk in self.lines]
        )
        self.row_of: dict[int, forms.Form] = {}

    def non_field_errors(self) -> Any:
        return self.header.non_field_errors()

    def is_valid(self) -> bool:
        header, rows = self.header.is_valid(), self.rows.is_valid()
        return header and rows

    @property
    def cleaned_data(self) -> dict[str, Any]:
        receipts = []
        for row in self.rows.forms:
            if row.is_blank():
                continue
            data = dict(row.cleaned_data)
            data["serial_numbers"] = (data.get("serial_numbers") or "").splitlines()
            receipts.append(data)
            self.row_of[len(receipts)] = row
        return {"reference": self.header.cleaned_data.get("reference", ""), "receipts": receipts}

    def add_problems(self, error: DomainError) -> None:
        if not error.fields:
            self.header.add_error(None, error.message)
        for name, problems in error.fields.items():
            for problem in problems:
                _add_error(self.header, self.row_of, "receipts", name, problem)

    def rows_with_lines(self) -> list[tuple[Any, forms.Form]]:
        result = []
        for row in self.rows.forms:
            value = row["line"].value()
            try:
                line = self.lines.get(int(value))
            except (TypeError, ValueError):
                line = None
            result.append((line, row))
        return result


ACTION_INPUTS: dict[str, Any] = {
    "place": NoInput,
    "receive": ReceiveInput,
    "close": ReasonInput,
    "cancel": ReasonInput,
}


def action_run(name: str, *, order: PurchaseOrder, actor: Any, data: dict[str, Any]) -> Any:
    """Call the action's service with the form's cleaned data."""
    if name == "place":
        return purchase_order_place(actor=actor, order=order)
    if name == "receive":
        return purchase_order_receive(
            actor=actor, order=order, receipts=data["receipts"], reference=data["reference"]
        )
    if name == "close":
        return purchase_order_close(actor=actor, order=order, reason=data["reason"])
    return purchase_order_cancel(actor=actor, order=order, reason=data["reason"])


# --- The resource -----------------------------------------------------------------------------


def _resource_create(*, actor: Any, model: Any = PurchaseOrder, data: dict[str, Any]) -> Any:
    """The generic create path (resource API) in the service's terms."""
    data = {key: value for key, value in data.items() if key != "version"}
    return purchase_order_create(actor=actor, **data)


def _resource_update(
    *, actor: Any, instance: PurchaseOrder, data: dict[str, Any], expected_version: Any = None
) -> Any:
    return purchase_order_update(
        actor=actor, order=instance, data=data, expected_version=expected_version
    )


def _actions(
    order: PurchaseOrder, user: Any, bound: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    result = []
    for name, rule in actions_allowed(PURCHASE_ORDER_TRANSITIONS, order, user):
        form = (bound or {}).get(name) or ACTION_INPUTS[name](order=order)
        result.append(
            {"name": name, "transition": rule, "form": form, "open": name in (bound or {})}
        )
    return result


class PurchaseOrderDetailView(ResourceDetailView):
    extra_template = "inventory/purchase_order_panel.html"

    def extra_context_for(self, obj: PurchaseOrder) -> dict[str, Any]:
        user = self.request.user
        lines = list(obj.lines.select_related("part").order_by("pk"))
        receipts = (
            movements_visible_to(user)
            .filter(purchase_order_line__order=obj)
            .select_related("part", "lot", "recorded_by", "destination")
            .order_by("occurred_at", "pk")
        )
        return {
            "order": obj,
            "lines": lines,
            "total": sum((line.quantity * line.unit_price for line in lines), Decimal(0)),
            "receipts": list(receipts),
            "actions": _actions(obj, user, getattr(self, "bound_forms", None)),
            # Only a draft is edited; an order placed changes by its actions.
            "can_change": obj.status == PurchaseOrderStatus.DRAFT
            and user.has_perm("inventory.change_purchaseorder"),
        }


purchase_orders = register(
    Resource(
        name="purchase-orders",
        model=PurchaseOrder,
        selector=purchase_orders_visible_to,
        namespace="inventory",
        list_columns=[
            "number",
            "supplier",
            "status",
            "destination",
            "ordered_on",
            "expected_on",
            "supplier_reference",
        ],
        detail_fields=[
            "number",
            "status",
            "supplier",
            "destination",
            "ordered_on",
            "expected_on",
            "supplier_reference",
            "notes",
            "created_by",
            "closed_reason",
            "created_at",
        ],
        export_fields=[
            "id",
            "number",
            "status",
            "supplier",
            "destination",
            "ordered_on",
            "expected_on",
            "supplier_reference",
            "created_by",
            "closed_reason",
        ],
        filterset_class=PurchaseOrderFilter,
        serializer_class=PurchaseOrderSerializer,
        search_fields=["number", "supplier_reference"],
        ordering_fields=["number", "ordered_on", "expected_on", "created_at"],
        default_ordering=["-id"],
        select_related=["supplier", "destination", "created_by"],
        create=_resource_create,
        update=_resource_update,
        delete=None,
        organization_scoped=False,
        detail_view=PurchaseOrderDetailView,
        create_url_name="inventory:purchase-orders-create",
    )
)


# --- Views ------------------------------------------------------------------------------------


def _scoped_order(request: HttpRequest, pk: int) -> PurchaseOrder:
    # A role that may not see orders gets the same answer as for an order outside its scope.
    if not request.user.has_perm("inventory.view_purchaseorder"):
        raise Http404
    return get_object_or_404(purchase_orders_visible_to(request.user), pk=pk)


def _form_page(
    request: HttpRequest, form: OrderInput, order: PurchaseOrder | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "inventory/purchase_order_form.html",
        {
            "form": form.header,
            "rows": form.rows,
            "object": order,
            "version": request.POST.get("version") or (order.version if order else ""),
            "list_url": reverse("inventory:purchase-orders-list"),
        },
        status=status,
    )


@login_required
def purchase_order_create_view(request: HttpRequest) -> HttpResponse:
    """A new draft order: header and line rows."""
    if not request.user.has_perm("inventory.add_purchaseorder"):
        raise Http404
    if request.method != "POST":
        return _form_page(request, OrderInput(user=request.user), None)
    form = OrderInput(request.POST, user=request.user)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    try:
        order = purchase_order_create(actor=request.user, lines=form.lines(), **form.header_data())
    except DomainError as error:
        form.add_problems(error)
        return _form_page(request, form, None, status=error.status)
    messages.success(request, _("Saved %(record)s.") % {"record": order})
    return redirect("inventory:purchase-orders-detail", pk=order.pk)


@login_required
def purchase_order_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft order: its header and its lines (all replaced by the rows)."""
    order = _scoped_order(request, pk)
    if not request.user.has_perm("inventory.change_purchaseorder"):
        raise Http404
    if order.status != PurchaseOrderStatus.DRAFT:
        messages.error(request, _("Only a draft order can be changed."))
        return redirect("inventory:purchase-orders-detail", pk=order.pk)
    if request.method != "POST":
        return _form_page(request, OrderInput(user=request.user, instance=order), order)
    form = OrderInput(request.POST, user=request.user, instance=order)
    if not form.is_valid():
        return _form_page(request, form, order, status=400)
    try:
        order = purchase_order_update(
            actor=request.user,
            order=order,
            data={**form.header_data(), "lines": form.lines()},
            expected_version=request.POST.get("version") or None,
        )
    except DomainError as error:
        form.add_problems(error)
        return _form_page(request, form, order, status=error.status)
    messages.success(request, _("Saved %(record)s.") % {"record": order})
    return redirect("inventory:purchase-orders-detail", pk=order.pk)


def _detail_again(
    request: HttpRequest, order: PurchaseOrder, status: int, **state: Any
) -> HttpResponse:
    view = PurchaseOrderDetailView()
    view.resource = purchase_orders
    view.request = request
    view.kwargs = {"pk": order.pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=order.pk)
    response.status_code = status
    return response


@login_required
@require_POST
def purchase_order_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one workflow action from its form; a refusal is shown on the page with what was
    typed kept."""
    order = _scoped_order(request, pk)
    if name not in ACTION_INPUTS:
        raise Http404
    form = ACTION_INPUTS[name](request.POST, order=order)
    if not form.is_valid():
        return _detail_again(request, order, 400, bound_forms={name: form})
    try:
        action_run(name, order=order, actor=request.user, data=form.cleaned_data)
    except PermissionDeniedError as error:
        messages.error(request, error.message)
        return _detail_again(request, order, 403)
    except InvalidTransitionError as error:
        # The action is not offered in this state, so its form is not on the page.
        messages.error(request, error.message)
        return _detail_again(request, order, error.status)
    except DomainError as error:
        form.add_problems(error)
        return _detail_again(request, order, error.status, bound_forms={name: form})
    messages.success(
        request, _("%(action)s: done.") % {"action": PURCHASE_ORDER_TRANSITIONS[name].label}
    )
    return redirect("inventory:purchase-orders-detail", pk=order.pk)


class SuggestionsForm(forms.Form):
    destination = forms.ModelChoiceField(
        label=gettext_lazy("Deliver to"),
        queryset=StockLocation.objects.none(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = _warehouses()


@login_required
def reorder_suggestions_view(request: HttpRequest) -> HttpResponse:
    """What to order, per preferred supplier, for the parts below their reorder point (stock
    plus open orders); a button writes one draft order per supplier."""
    user = request.user
    if not user.has_perm("inventory.view_purchaseorder") or not user.has_perm(
        "inventory.view_part"
    ):
        raise Http404
    form = SuggestionsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not user.has_perm("inventory.add_purchaseorder"):
            raise Http404
        if form.is_valid():
            try:
                orders = purchase_orders_from_suggestions(
                    actor=user, destination=form.cleaned_data["destination"]
                )
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status
            else:
                if orders:
                    messages.success(
                        request,
                        _("Draft orders written: %(orders)s. Review and place them.")
                        % {"orders": ", ".join(order.number for order in orders)},
                    )
                else:
                    messages.info(request, _("Nothing to order: no draft was written."))
                return redirect(reverse("inventory:purchase-orders-list") + "?status=draft")
        else:
            status = 400
    return render(
        request,
        "inventory/reorder_suggestions.html",
        {
            "groups": reorder_suggestions(),
            "form": form,
            "can_order": user.has_perm("inventory.add_purchaseorder"),
        },
        status=status,
    )


for _view in (purchase_order_edit_view, purchase_order_action):
    _view.resource = purchase_orders  # type: ignore[attr-defined]

urlpatterns: list[Any] = [
    path(
        "purchase-orders/new/",
        purchase_order_create_view,
        name="purchase-orders-create",
    ),
    path(
        "purchase-orders/reorder/",
        reorder_suggestions_view,
        name="purchase-orders-reorder",
    ),
    path(
        "purchase-orders/<int:pk>/edit/",
        purchase_order_edit_view,
        name="purchase-orders-edit",
    ),
    path(
        "purchase-orders/<int:pk>/<slug:name>/",
        purchase_order_action,
        name="purchase-order-action",
    ),
    *resource_urlpatterns(purchase_orders),
]
