"""Pages beyond the generic resource views: holding and releasing a part lot, and the warehouse
keeper's home panel. Purchasing, requisitions, counts and instruments have their own modules
(views_<area>.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.registry import HomePanel, home_panel_register
from medservice.inventory.choices import RequisitionStatus
from medservice.inventory.forms import LotHoldForm
from medservice.inventory.resources import lots
from medservice.inventory.selectors import (
    lots_expired,
    lots_expiring,
    lots_visible_to,
    parts_below_reorder_point,
    requisitions_visible_to,
)
from medservice.inventory.services import part_lot_hold, part_lot_release


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


urlpatterns: list[Any] = [
    path("part-lots/<int:pk>/hold/", _action_view("hold"), name="part-lot-hold"),
    path("part-lots/<int:pk>/release/", _action_view("release"), name="part-lot-release"),
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
    if not user.has_perm("inventory.view_requisition"):
        raise Http404
    reorder = list(parts_below_reorder_point()[:10])
    expiring = list(lots_expiring(within_days=settings.MEDSERVICE_PART_EXPIRY_WARNING_DAYS)[:10])
    expired = list(lots_expired()[:10])
    return {
        "panel": {
            "waiting": list(waiting[:10]),
            "waiting_count": waiting.count(),
            "reorder": reorder,
            "expiring": expiring,
            "expired": expired,
        }
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
