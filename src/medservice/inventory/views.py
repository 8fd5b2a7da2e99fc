"""Pages beyond the generic resource views: holding and releasing a part lot, and the warehouse
keeper's home panel. Purchasing, requisitions, counts and instruments have their own modules
(views_<area>.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from medservice.core.errors import DomainError
from medservice.core.registry import HomePanel, home_panel_register
from medservice.core.widgets import autocomplete_response
from medservice.inventory.choices import RequisitionStatus
from medservice.inventory.forms import ConsumeForm, LotHoldForm, StockMoveForm
from medservice.inventory.models import PartLot
from medservice.inventory.resources import lots
from medservice.inventory.selectors import (
    lots_expired,
    lots_expiring,
    lots_matching,
    lots_visible_to,
    parts_below_reorder_point,
    parts_matching,
    requisitions_visible_to,
)
from medservice.inventory.services import (
    Fitted,
    Removed,
    lot_query,
    part_lot_hold,
    part_lot_release,
    parts_consume,
    quantity_text,
    stock_move,
)


@login_required
@require_POST
def lot_hold_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Put a part lot on hold, or release it, with a reason."""
    lot = get_object_or_404(lots_visible_to(request.user), pk=pk)
    form = LotHoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why."))
        return redirect("inventory:part-lots-detail", pk=lot.pk)
    try:
        if action == "hold":
            part_lot_hold(
                actor=request.user,
                lot=lot,
                reason=form.cleaned_data["reason"],
                source=form.cleaned_data["source"],
            )
            messages.success(request, _("The lot is on hold: it cannot be issued or fitted."))
        else:
            part_lot_release(actor=request.user, lot=lot, reason=form.cleaned_data["reason"])
            messages.success(request, _("The lot's hold is released."))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("inventory:part-lots-detail", pk=lot.pk)


lot_hold_view.resource = lots  # type: ignore[attr-defined]


def _action_view(action: str) -> Any:
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return lot_hold_view(request, pk, action)

    view.resource = lots  # type: ignore[attr-defined]
    return view


MOVE_PERMISSIONS = ("inventory.transfer_stock", "inventory.return_parts", "inventory.dispose_parts")


@login_required
def stock_move_view(request: HttpRequest) -> HttpResponse:
    """Move stock by hand: transfer, hand defective parts to quarantine, or send them on."""
    if not any(request.user.has_perm(permission) for permission in MOVE_PERMISSIONS):
        raise PermissionDenied
    initial = {
        key: request.GET[key] for key in ("kind", "source", "part", "lot") if key in request.GET
    }
    form = StockMoveForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            moved = stock_move(
                actor=request.user,
                kind=data["kind"],
                source=data["source"],
                destination=data["destination"],
                part=data["part"],
                quantity=data["quantity"],
                lot_text=data["lot"],
                source_condition=data["source_condition"] or "defective",
                reference=data["reference"],
                reason=data["reason"],
            )
        except DomainError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("Posted: %(count)s ledger row(s), %(quantity)s %(unit)s of %(part)s.")
                % {
                    "count": len(moved),
                    "quantity": quantity_text(data["quantity"]),
                    "unit": data["part"].unit,
                    "part": data["part"],
                },
            )
            return redirect(f"{reverse('inventory:stock-list')}?part={data['part'].pk}")
    return render(request, "inventory/stock_move.html", {"form": form})


@login_required
def consume_view(request: HttpRequest) -> HttpResponse:
    """Record the parts fitted into and removed from a device."""
    if not request.user.has_perm("inventory.consume_parts"):
        raise PermissionDenied
    form = ConsumeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        fitted_rows, removed_rows = form.rows("fitted"), form.rows("removed")
        if not form.errors:
            fitted, removed = [], []
            for index, part, lot_text, quantity in fitted_rows:
                lot = None
                if lot_text.strip():
                    lot = PartLot.objects.filter(lot_query(lot_text), part=part).first()
                    if lot is None:
                        form.add_error(
                            f"fitted_{index}_lot",
                            _("%(part)s has no lot or serial number %(lot)s.")
                            % {"part": part.number, "lot": lot_text},
                        )
                fitted.append(Fitted(part=part, quantity=quantity, lot=lot))
            for _index, part, lot_text, quantity in removed_rows:
                tracked_by_serial = part.tracking == "serial"
                removed.append(
                    Removed(
                        part=part,
                        quantity=quantity,
                        lot_number="" if tracked_by_serial else lot_text,
                        serial_number=lot_text if tracked_by_serial else "",
                    )
                )
            if not form.errors:
                try:
                    parts_consume(
                        actor=request.user,
                        device=form.cleaned_data["device_serial"],
                        location=form.cleaned_data["location"],
                        fitted=fitted,
                        removed=removed,
                        reference=form.cleaned_data["reference"],
                    )
                except DomainError as error:
                    _form_errors(form, error, prefix_map=_consume_fields(fitted_rows, removed_rows))
                else:
                    device = form.cleaned_data["device_serial"]
                    messages.success(
                        request, _("The parts are recorded on %(device)s.") % {"device": device}
                    )
                    return redirect("installed_base:devices-detail", pk=device.pk)
    return render(
        request, "inventory/consume.html", {"form": form, "rows": range(1, form.ROWS + 1)}
    )


def _consume_fields(fitted: list, removed: list) -> dict[str, str]:
    """Service field names (fitted.2.lot) to this form's (fitted_<row>_lot)."""
    names = {}
    for prefix, rows in (("fitted", fitted), ("removed", removed)):
        for position, (index, *_rest) in enumerate(rows, start=1):
            for field in ("part", "lot", "quantity"):
                names[f"{prefix}.{position}.{field}"] = f"{prefix}_{index}_{field}"
            names[f"{prefix}.{position}.lot_number"] = f"{prefix}_{index}_lot"
            names[f"{prefix}.{position}.serial_number"] = f"{prefix}_{index}_lot"
    return names


def _form_errors(form: Any, error: DomainError, prefix_map: dict[str, str] | None = None) -> None:
    """A service's refusal on the form: on the named fields, else at the top."""
    placed = False
    for name, problems in (error.fields or {}).items():
        target = (prefix_map or {}).get(name, name)
        if target in form.fields:
            for problem in problems:
                form.add_error(target, problem)
            placed = True
    if not placed:
        form.add_error(None, error.message)


@login_required
@require_GET
def part_options(request: HttpRequest) -> HttpResponse:
    """Parts matching `q` for the autocomplete (number first, then name)."""
    if not request.user.has_perm("inventory.view_part"):
        raise Http404
    return autocomplete_response(
        parts_matching(request.user, request.GET.get("q", "")),
        detail=lambda part: part.name_en if part.name_en else "",
    )


@login_required
@require_GET
def lot_options(request: HttpRequest) -> HttpResponse:
    """Lots and serial units matching `q`, of the `part` given."""
    if not request.user.has_perm("inventory.view_partlot"):
        raise Http404
    part = request.GET.get("part", "").strip()
    part_id = None
    if part:
        # Only an id the database can hold: a foreign-key lookup does not guard against overflow.
        if not (part.isascii() and part.isdigit()) or len(part) > 18:
            return autocomplete_response(lots_visible_to(request.user).none())
        part_id = int(part)
    return autocomplete_response(
        lots_matching(request.user, request.GET.get("q", ""), part_id=part_id),
        detail=lambda lot: lot.expiry_date.isoformat() if lot.expiry_date else "",
    )


urlpatterns: list[Any] = [
    path("parts/options/", part_options, name="part-options"),
    path("part-lots/options/", lot_options, name="lot-options"),
    path("part-lots/<int:pk>/hold/", _action_view("hold"), name="part-lot-hold"),
    path("part-lots/<int:pk>/release/", _action_view("release"), name="part-lot-release"),
    path("stock/move/", stock_move_view, name="stock-move"),
    path("consume/", consume_view, name="consume"),
]


def warehouse_home(request: HttpRequest) -> dict[str, Any]:
    """The warehouse keeper's landing: requisitions waiting for approval or issue, parts below
    their reorder point, lots expiring within 60 days or expired (a fixed number of queries)."""
    from django.conf import settings

    user = request.user
    waiting = (
        requisitions_visible_to(user)
        .filter(status__in=[RequisitionStatus.REQUESTED, RequisitionStatus.APPROVED])
        .select_related("requester", "source")
        .order_by("id")
    )
    reorder = list(parts_below_reorder_point()[:10])
    expiring = list(lots_expiring(within_days=settings.MEDSERVICE_PART_EXPIRY_WARNING_DAYS)[:10])
    expired = list(lots_expired()[:10])
    return {
        "waiting": list(waiting[:10]),
        "waiting_count": waiting.count(),
        "reorder": reorder,
        "expiring": expiring,
        "expired": expired,
    }


home_panel_register(
    HomePanel(
        name="inventory-warehouse",
        template="inventory/home_panel.html",
        context=warehouse_home,
        permission="inventory.issue_requisition",
        order=30,
    )
)
