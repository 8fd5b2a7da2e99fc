"""The service and quality dashboards (live: current state through the owning apps' selectors)
and their compact versions on the home page of the roles that land on them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from medservice.analytics.dashboards import quality_dashboard, service_dashboard
from medservice.core.registry import HomePanel, home_panel_register
from medservice.customers.selectors import user_scope

SERVICE_PERMISSION = "analytics.view_service_dashboard"
QUALITY_PERMISSION = "analytics.view_quality_dashboard"


def _allowed(request: HttpRequest, permission: str) -> None:
    # The dashboards are the company's own: outside users get 404 even with a stray permission.
    if user_scope(request.user) != "internal" or not request.user.has_perm(permission):
        raise Http404


@login_required
def service_dashboard_view(request: HttpRequest) -> HttpResponse:
    """At risk, breached, unassigned, today's visits, late arrivals, overdue PM, stock alerts
    and low surveys, each with its count, a link to the list and the first rows."""
    _allowed(request, SERVICE_PERMISSION)
    return render(
        request, "analytics/dashboard_service.html",
        {"cards": service_dashboard(request.user), "now": timezone.now()},
    )  # fmt: skip


service_dashboard_view.scoping_exempt = "every card reads its app's <things>_visible_to(user)"  # type: ignore[attr-defined]


@login_required
def quality_dashboard_view(request: HttpRequest) -> HttpResponse:
    """Legal clocks by due time, open cases, recall progress, trend signals and open CAPAs."""
    _allowed(request, QUALITY_PERMISSION)
    return render(
        request, "analytics/dashboard_quality.html",
        {"cards": quality_dashboard(request.user), "now": timezone.now()},
    )  # fmt: skip


quality_dashboard_view.scoping_exempt = "every card reads its app's <things>_visible_to(user)"  # type: ignore[attr-defined]


def _compact(function: Any, url_name: str, title: Any) -> Any:
    def context(request: HttpRequest) -> dict[str, Any]:
        if user_scope(request.user) != "internal":
            return {"cards": [], "dashboard_url": url_name, "title": title}
        return {"cards": function(request.user, limit=0), "dashboard_url": url_name,
                "title": title}  # fmt: skip

    return context


def _register_home_panels() -> None:
    from django.utils.translation import gettext_lazy as _

    home_panel_register(
        HomePanel(
            name="analytics-service-dashboard",
            template="analytics/dashboard_home_panel.html",
            context=_compact(service_dashboard, "analytics:service-dashboard",
                             _("Service dashboard")),
            permission=SERVICE_PERMISSION,
            order=1,
        )
    )  # fmt: skip
    home_panel_register(
        HomePanel(
            name="analytics-quality-dashboard",
            template="analytics/dashboard_home_panel.html",
            context=_compact(quality_dashboard, "analytics:quality-dashboard",
                             _("Quality dashboard")),
            permission=QUALITY_PERMISSION,
            order=2,
        )
    )  # fmt: skip


_register_home_panels()

urlpatterns = [
    path("service/", service_dashboard_view, name="service-dashboard"),
    path("quality/", quality_dashboard_view, name="quality-dashboard"),
]
