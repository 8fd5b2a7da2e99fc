"""The dispatch pages of work orders: the engineer's day on a phone, the dispatch board, the
action forms of dispatch, rescheduling, check-in and check-out, the visits panel of the record
page, "who is coming" for the customer, and today's visits on the engineer's home page."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.registry import HomePanel, home_panel_register
from medservice.work_orders.choices import Route, VisitStatus, WorkOrderStatus
from medservice.work_orders.dispatch import (
    BUSY_STATUSES,
    Candidate,
    current_visit,
    dispatch_candidates,
    engineer_schedule,
    local_day_bounds,
    person_name,
    visit_check_in,
    visit_check_out,
    visit_reschedule,
    work_order_dispatch,
)
from medservice.work_orders.models import Visit, WorkOrder
from medservice.work_orders.panels import Panel, panel_register
from medservice.work_orders.selectors import work_orders_visible_to
from medservice.work_orders.views import (
    ActionForm,
    ActionSpec,
    VisitSection,
    action_form_register,
    bootstrap,
    visit_section_register,
)

DATETIME_INPUT = {"type": "datetime-local"}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
BOARD_DAYS = 7
BOARD_ENGINEERS_PER_PAGE = 25
READY_PER_PAGE = 25


def field_engineers() -> Any:
    from medservice.accounts.models import User

    return (
        User.objects.filter(is_active=True, engineer_profile__active=True)
        .select_related("engineer_profile")
        .order_by("engineer_profile__region", "last_name", "first_name", "username")
    )


def candidate_label(candidate: Candidate) -> str:
    parts = [
        f"{candidate.name} ({candidate.profile.badge_number})",
        candidate.profile.region or "—",
        _("%(load)s of %(capacity)s visits that day")
        % {"load": candidate.load, "capacity": candidate.capacity},
    ]
    if candidate.region_match:
        parts.append(_("in the region"))
    if candidate.certified_until:
        parts.append(_("certified until %(day)s") % {"day": candidate.certified_until})
    return " · ".join(parts)


def proposed_window(work_order: WorkOrder) -> tuple[datetime.datetime, datetime.datetime]:
    """The window to offer: the current appointment when it is ahead, else tomorrow morning."""
    now = timezone.now()
    start, end = work_order.appointment_start, work_order.appointment_end
    if start is not None and end is not None and start > now:
        return start, end
    tomorrow = timezone.localdate(now) + datetime.timedelta(days=1)
    start, _end = local_day_bounds(tomorrow)
    start += datetime.timedelta(hours=9)
    return start, start + datetime.timedelta(hours=2)


class EngineerChoiceField(forms.ChoiceField):
    """The candidates for the window, ranked, as labelled choices; any active field engineer
    is accepted as a value (someone not a candidate is the service's decision: override)."""

    def valid_value(self, value: Any) -> bool:
        return True

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value in (None, ""):
            return None
        engineer = field_engineers().filter(pk=value).first() if str(value).isdigit() else None
        if engineer is None:
            raise forms.ValidationError(_("Choose an engineer from the list."))
        return engineer


class WindowForm(ActionForm):
    window_start = forms.DateTimeField(
        label=gettext_lazy("Appointment from"), input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs=DATETIME_INPUT, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    window_end = forms.DateTimeField(
        label=gettext_lazy("Appointment until"), input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs=DATETIME_INPUT, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    engineer = EngineerChoiceField(label=gettext_lazy("Engineer"), required=False)
    other_engineer = forms.ModelChoiceField(
        label=gettext_lazy("Other engineer (override)"), queryset=None, required=False,
        help_text=gettext_lazy("Someone who is not a candidate: the service manager's decision."),
    )  # fmt: skip
    override_reason = forms.CharField(
        label=gettext_lazy("Override reason"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    engineer_required = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        start, end = self._window()
        self.fields["window_start"].initial = timezone.localtime(start)
        self.fields["window_end"].initial = timezone.localtime(end)
        candidates = dispatch_candidates(self.work_order, start=start, end=end)
        self.fields["engineer"].choices = [
            ("", "—"),
            *((candidate.user.pk, candidate_label(candidate)) for candidate in candidates),
        ]
        self.fields["engineer"].help_text = _("Candidates for %(window)s, best first.") % {
            "window": _window_label(start, end)
        }
        if self.user.has_perm("work_orders.override_dispatch"):
            self.fields["other_engineer"].queryset = field_engineers()
        else:
            del self.fields["other_engineer"]
            del self.fields["override_reason"]
        bootstrap(self)

    def _window(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The window the candidates are listed for: the one typed when the form comes back."""
        if self.is_bound:
            field_start, field_end = self.fields["window_start"], self.fields["window_end"]
            try:
                start = field_start.clean(self.data.get(self.add_prefix("window_start")))
                end = field_end.clean(self.data.get(self.add_prefix("window_end")))
            except forms.ValidationError:
                start = end = None
            if start is not None and end is not None and end > start:
                return start, end
        return proposed_window(self.work_order)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = data.get("other_engineer") or data.get("engineer")
        data["chosen_engineer"] = chosen
        if chosen is None and self.engineer_required:
            self.add_error("engineer", _("Choose the engineer."))
        return data


def _window_label(start: datetime.datetime, end: datetime.datetime) -> str:
    from medservice.work_orders.dispatch import window_text

    return window_text(start, end)


class DispatchForm(WindowForm):
    pass


class RescheduleForm(WindowForm):
    reason = forms.CharField(label=gettext_lazy("Why the visit moves"), max_length=300)
    engineer_required = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["engineer"].label = _("Engineer (empty: keep the same)")
        self.order_fields(["window_start", "window_end", "reason", "engineer"])


class PositionForm(ActionForm):
    """The phone fills the position in (drafts.js) when the engineer allows it."""

    latitude = forms.FloatField(required=False, widget=forms.HiddenInput(
        attrs={"data-geolocation": "latitude"}))  # fmt: skip
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput(
        attrs={"data-geolocation": "longitude"}))  # fmt: skip


class CheckInForm(PositionForm):
    photo = forms.FileField(
        label=gettext_lazy("Photo on arrival (optional)"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )  # fmt: skip


class CheckOutForm(PositionForm):
    pass


action_form_register("dispatch", ActionSpec(
    DispatchForm,
    lambda user, work_order, data: work_order_dispatch(
        actor=user, work_order=work_order, engineer=data["chosen_engineer"],
        window_start=data["window_start"], window_end=data["window_end"],
        override_reason=data.get("override_reason", "")),
))  # fmt: skip
action_form_register("reschedule", ActionSpec(
    RescheduleForm,
    lambda user, work_order, data: visit_reschedule(
        actor=user, work_order=work_order, window_start=data["window_start"],
        window_end=data["window_end"], reason=data["reason"], engineer=data["chosen_engineer"],
        override_reason=data.get("override_reason", "")),
))  # fmt: skip
action_form_register("check-in", ActionSpec(
    CheckInForm,
    lambda user, work_order, data: visit_check_in(
        actor=user, work_order=work_order, latitude=data["latitude"],
        longitude=data["longitude"], photo=data["photo"],
        submission_key=data["submission_key"]),
    phone=True,
))  # fmt: skip
action_form_register("check-out", ActionSpec(
    CheckOutForm,
    lambda user, work_order, data: visit_check_out(
        actor=user, work_order=work_order, latitude=data["latitude"],
        longitude=data["longitude"], submission_key=data["submission_key"]),
    phone=True,
))  # fmt: skip


# --- The visit's section on the phone page, the panels ------------------------------------------


def _engineer_card(engineer: Any) -> dict[str, Any]:
    profile = getattr(engineer, "engineer_profile", None) if engineer is not None else None
    return {
        "name": person_name(engineer),
        "badge_number": profile.badge_number if profile is not None else "",
        "photo_url": profile.photo.url if profile is not None and profile.photo else "",
    }


def _visit_context(work_order: WorkOrder) -> dict[str, Any]:
    visit = current_visit(work_order)
    if visit is None:
        visit = (
            work_order.visits.exclude(status=VisitStatus.CANCELLED)
            .order_by("-window_start", "-pk")
            .first()
        )
    if visit is None:
        return {"visit": None, "engineer": None}
    engineer = (
        type(visit.engineer)
        ._default_manager.select_related("engineer_profile")
        .get(pk=visit.engineer_id)
    )
    return {"visit": visit, "engineer": _engineer_card(engineer)}


visit_section_register(
    VisitSection(
        name="checkin",
        template="work_orders/_visit_checkin.html",
        context=lambda request, work_order: _visit_context(work_order),
        order=10,
    )
)


def _visits_panel(request: HttpRequest, work_order: WorkOrder) -> dict[str, Any]:
    return {
        "visits": list(
            work_order.visits.select_related(
                "engineer__engineer_profile", "override_by", "dispatched_by"
            ).order_by("window_start", "pk")
        )
    }


panel_register(
    Panel(
        name="visits",
        template="work_orders/_visits_panel.html",
        context=_visits_panel,
        order=20,
        permission="work_orders.view_visit",
    )
)
panel_register(
    Panel(
        name="who-is-coming",
        template="work_orders/dispatch_customer_panel.html",
        context=lambda request, work_order: _visit_context(work_order),
        order=10,
    ),
    customer=True,
)


def _today_panel(request: HttpRequest) -> dict[str, Any]:
    today = timezone.localdate()
    visits = engineer_schedule(request.user, start_day=today, end_day=today)
    return {"visits": visits, "count": len(visits)}


home_panel_register(
    HomePanel(
        name="work-orders-today",
        template="work_orders/dispatch_home_panel.html",
        context=_today_panel,
        permission="work_orders.work_workorder",
        order=5,
    )
)


# --- Pages --------------------------------------------------------------------------------------


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """The engineer's visits, today (or the next seven days), in order, one big card each."""
    if not request.user.has_perm("work_orders.work_workorder"):
        raise Http404
    week = request.GET.get("days") == "7"
    today = timezone.localdate()
    end_day = today + datetime.timedelta(days=6 if week else 0)
    visits = engineer_schedule(request.user, start_day=today, end_day=end_day)
    days: list[dict[str, Any]] = []
    for visit in visits:
        day = timezone.localdate(visit.window_start)
        if not days or days[-1]["day"] != day:
            days.append({"day": day, "visits": []})
        days[-1]["visits"].append(visit)
    return render(
        request,
        "work_orders/my_day.html",
        {"days": days, "week": week, "today": today, "count": len(visits)},
    )


@login_required
def dispatch_board(request: HttpRequest) -> HttpResponse:
    """Engineers by the next seven days with their visits, and the on-site work ready to
    dispatch with nobody sent yet."""
    user = request.user
    if not user.has_perm("work_orders.dispatch_workorder"):
        raise Http404
    today = timezone.localdate()
    days = [today + datetime.timedelta(days=offset) for offset in range(BOARD_DAYS)]
    engineers_page = Paginator(field_engineers(), BOARD_ENGINEERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    engineers = list(engineers_page.object_list)
    start, _end = local_day_bounds(days[0])
    _start, end = local_day_bounds(days[-1])
    visits = (
        Visit.objects.filter(
            engineer__in=[engineer.pk for engineer in engineers],
            window_start__gte=start,
            window_start__lt=end,
            work_order__in=work_orders_visible_to(user),
        )
        .exclude(status=VisitStatus.CANCELLED)
        .select_related("work_order__organization")
        .order_by("window_start", "pk")
    )
    cells: dict[tuple[int, datetime.date], list[Visit]] = {}
    for visit in visits:
        cells.setdefault((visit.engineer_id, timezone.localdate(visit.window_start)), []).append(
            visit
        )
    rows = [
        {
            "engineer": engineer,
            "profile": engineer.engineer_profile,
            "days": [
                {
                    "day": day,
                    "visits": cells.get((engineer.pk, day), []),
                    "busy": sum(
                        1
                        for visit in cells.get((engineer.pk, day), [])
                        if visit.status in BUSY_STATUSES
                    ),
                }
                for day in days
            ],
        }
        for engineer in engineers
    ]
    ready = (
        work_orders_visible_to(user)
        .filter(status=WorkOrderStatus.READY, route=Route.ON_SITE)
        .select_related("organization", "device__device_model")
        .order_by("promised_by", "pk")
    )
    ready_page = Paginator(ready, READY_PER_PAGE).get_page(request.GET.get("ready_page"))
    return render(
        request,
        "work_orders/dispatch_board.html",
        {
            "days": days,
            "rows": rows,
            "engineers_page": engineers_page,
            "ready_page": ready_page,
        },
    )


urlpatterns = [
    path("my-day/", my_day, name="my-day"),
    path("dispatch/", dispatch_board, name="dispatch-board"),
]
