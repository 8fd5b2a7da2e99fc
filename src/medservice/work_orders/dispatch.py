"""Dispatch (派单) and visits: candidates certified for the model on the day, in the region
and free; the service manager's override; appointments, rescheduling, late-arrival alerts,
check-in and check-out; the engineer's schedule."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.work_orders.choices import VisitStatus
from medservice.work_orders.models import Visit, WorkOrder
from medservice.work_orders.services import (
    ALTERING_KINDS,
    customer_inform,
    file_attach,
    refuse_under_evidence_hold,
    service_managers,
    staff_notify,
    submission_once,
    work_order_transition,
)

# A visit in these states holds the engineer's time.
BUSY_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.ON_SITE)
# Phones' clocks drift a little; a check-in stamped slightly ahead is not refused for it.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
OVERRIDE_PERMISSION = "work_orders.override_dispatch"


@dataclass(frozen=True)
class Candidate:
    """An engineer who may be sent: certified for the model on the day and free in the
    window; ranked by region, then by how full their day already is."""

    user: Any
    profile: Any
    region_match: bool
    load: int
    certified_until: datetime.date | None

    @property
    def name(self) -> str:
        return person_name(self.user)

    @property
    def capacity(self) -> int:
        return int(self.profile.daily_capacity)

    @property
    def full(self) -> bool:
        return self.load >= self.capacity


def person_name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def local_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of a day in the business's time zone, as aware datetimes."""
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    return start, start + datetime.timedelta(days=1)


def window_text(start: datetime.datetime, end: datetime.datetime) -> str:
    """ "2026-11-28 09:00–11:00" (the end's day too when the window spans midnight)."""
    start_local, end_local = timezone.localtime(start), timezone.localtime(end)
    end_format = "%H:%M" if start_local.date() == end_local.date() else "%Y-%m-%d %H:%M"
    return f"{start_local:%Y-%m-%d %H:%M}–{end_local.strftime(end_format)}"


def _certification_covers(device_model: Any) -> Q:
    # As the training app decides it: the model itself, or its product line.
    condition = Q(device_model_id=device_model.pk)
    if device_model.product_line_id is not None:
        condition |= Q(product_line_id=device_model.product_line_id)
    return condition


def dispatch_candidates(
    work_order: WorkOrder,
    *,
    start: datetime.datetime,
    end: datetime.datetime,
) -> list[Candidate]:
    """The engineers who may be sent in [start, end): active, with an active engineer profile,
    certified for the device's model on the visit's day and with no other visit overlapping
    the window. Same region as the customer first, then the least loaded day, then name.
    Two queries whatever the number of engineers (one more when the device is not loaded)."""
    from medservice.training.selectors import certifications_valid_on, people_certified_for

    device_model = work_order.device.device_model
    day = timezone.localdate(start)
    day_start, day_end = local_day_bounds(day)
    busy = (
        Visit.objects.filter(status__in=BUSY_STATUSES, window_start__lt=end, window_end__gt=start)
        # Moving this work order's own visit does not make its engineer busy.
        .exclude(work_order_id=work_order.pk)
        .values("engineer_id")
    )
    certified_until = (
        certifications_valid_on(day)
        .filter(person_id=OuterRef("pk"))
        .filter(_certification_covers(device_model))
        .order_by("-valid_until")
        .values("valid_until")[:1]
    )
    users = (
        people_certified_for(device_model, on=day)
        .filter(engineer_profile__active=True)
        .exclude(pk__in=busy)
        .select_related("engineer_profile")
        .annotate(
            certified_until=Subquery(certified_until),
            load=Count(
                "visits",
                filter=Q(
                    visits__status__in=BUSY_STATUSES,
                    visits__window_start__gte=day_start,
                    visits__window_start__lt=day_end,
                ),
            ),
        )
    )
    region = (work_order.organization.region or "").strip()
    candidates = [
        Candidate(
            user=user,
            profile=user.engineer_profile,
            region_match=bool(region) and user.engineer_profile.region.strip() == region,
            load=user.load,
            certified_until=user.certified_until,
        )
        for user in users
    ]
    candidates.sort(
        key=lambda item: (not item.region_match, item.full, item.load, item.name, item.user.pk)
    )
    return candidates


def _why_not_a_candidate(
    work_order: WorkOrder, engineer: Any, start: datetime.datetime, end: datetime.datetime
) -> str:
    from medservice.training.selectors import is_certified

    profile = getattr(engineer, "engineer_profile", None)
    if not engineer.is_active or profile is None or not profile.active:
        return _("%(name)s is not an active field engineer.") % {"name": person_name(engineer)}
    day = timezone.localdate(start)
    if not is_certified(engineer, work_order.device.device_model, on=day):
        return _("%(name)s is not certified for %(model)s on %(day)s.") % {
            "name": person_name(engineer),
            "model": work_order.device.device_model,
            "day": day,
        }
    return _("%(name)s already has a visit in that window.") % {"name": person_name(engineer)}


def _lock_engineer(engineer: Any) -> None:
    """Hold the engineer's row until the transaction ends, before looking at their time: a
    second dispatch or reschedule of the same person waits here, then sees the visit the first
    one booked (no double booking). Always taken after the work order's lock, so two bookings
    never wait on each other in opposite orders."""
    if engineer is None or engineer.pk is None:
        return
    model = type(engineer)
    list(model._base_manager.select_for_update().filter(pk=engineer.pk).values_list("pk"))


def _check_engineer(
    *,
    actor: Any,
    work_order: WorkOrder,
    engineer: Any,
    start: datetime.datetime,
    end: datetime.datetime,
    override_reason: str,
) -> bool:
    """True when sending `engineer` is an override (they are not a candidate): allowed only to
    those who may override, and only with the reason. Raises otherwise. Call inside the
    transaction that books the visit: the engineer's row stays locked until it ends."""
    if engineer is None:
        message = _("Choose the engineer.")
        raise InvalidInputError(message, fields={"engineer": [message]})
    _lock_engineer(engineer)
    candidates = dispatch_candidates(work_order, start=start, end=end)
    if any(candidate.user.pk == engineer.pk for candidate in candidates):
        return False
    why = _why_not_a_candidate(work_order, engineer, start, end)
    if not engineer.is_active:
        raise InvalidInputError(why, fields={"engineer": [why]})
    if actor is not None and not actor.has_perm(OVERRIDE_PERMISSION):
        message = _("%(why)s Only the service manager may send someone who is not a candidate.") % {
            "why": why
        }
        raise PermissionDeniedError(message, fields={"engineer": [message]})
    if not (override_reason or "").strip():
        message = _("%(why)s Give the reason for sending them anyway.") % {"why": why}
        raise InvalidInputError(
            message, fields={"override_reason": [_("Give the reason for the override.")]}
        )
    return True


def _check_window(
    start: datetime.datetime | None, end: datetime.datetime | None, problems: Problems
) -> None:
    if start is None:
        problems.add("window_start", _("Give the start of the appointment window."))
    if end is None:
        problems.add("window_end", _("Give the end of the appointment window."))
    if start is None or end is None:
        return
    if end <= start:
        problems.add("window_end", _("The window must end after it starts."))
    if start < timezone.now() - FUTURE_TOLERANCE:
        problems.add("window_start", _("The appointment window is in the past."))


def _badge(engineer: Any) -> str:
    profile = getattr(engineer, "engineer_profile", None)
    return profile.badge_number if profile is not None else ""


def _coming_text(engineer: Any, start: datetime.datetime, end: datetime.datetime) -> str:
    return _("Engineer %(name)s (badge %(badge)s) will visit on %(window)s.") % {
        "name": person_name(engineer),
        "badge": _badge(engineer) or "—",
        "window": window_text(start, end),
    }


def work_order_dispatch(
    *,
    actor: Any,
    work_order: WorkOrder,
    engineer: Any,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    override_reason: str = "",
) -> WorkOrder:
    """Send an engineer in the window agreed with the customer (派单). Someone who is not a
    candidate (not certified on the day, already booked, not a field engineer) is the service
    manager's override, with the reason. The engineer is told, and the customer is told who is
    coming (name and badge number) and when."""
    problems = Problems()
    _check_window(window_start, window_end, problems)
    problems.raise_if_any(_("The engineer was not dispatched."))
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "dispatch", actor=actor, reason=(override_reason or "").strip(),
            changes={"engineer": engineer, "appointment_start": window_start,
                     "appointment_end": window_end},
        )  # fmt: skip
        overridden = _check_engineer(
            actor=actor, work_order=work_order, engineer=engineer, start=window_start,
            end=window_end, override_reason=override_reason,
        )  # fmt: skip
        with audit_context(actor=actor, action="dispatch", reason=override_reason or None):
            visit = Visit.objects.create(
                work_order=work_order,
                engineer=engineer,
                window_start=window_start,
                window_end=window_end,
                dispatched_by=actor,
                override_reason=override_reason.strip() if overridden else "",
                override_by=actor if overridden else None,
            )
        staff_notify(
            work_order, recipients=[engineer], template="work_orders_dispatch_assigned",
            visit=visit, window=window_text(window_start, window_end),
        )  # fmt: skip
        customer_inform(
            work_order, text=_coming_text(engineer, window_start, window_end), actor=actor
        )
    return work_order


def current_visit(work_order: WorkOrder, *, lock: bool = False) -> Visit | None:
    """The visit that matters now: the one on site, else the next scheduled one."""
    visits = work_order.visits.all()
    if lock:
        visits = visits.select_for_update()
    on_site = visits.filter(status=VisitStatus.ON_SITE).order_by("-checked_in_at", "-pk").first()
    if on_site is not None:
        return on_site
    return visits.filter(status=VisitStatus.SCHEDULED).order_by("window_start", "pk").first()


def visit_reschedule(
    *,
    actor: Any,
    work_order: WorkOrder,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    reason: str,
    engineer: Any = None,
    override_reason: str = "",
) -> WorkOrder:
    """Move the scheduled visit (and optionally change who goes), with the reason; the
    customer is told the new window and why. The engineer sent must still be a candidate for
    the new window, or be the service manager's override with its reason."""
    problems = Problems()
    if not (reason or "").strip():
        problems.add("reason", _("Say why the visit moves."))
    _check_window(window_start, window_end, problems)
    problems.raise_if_any(_("The visit was not rescheduled."))
    with transaction.atomic():
        work_order = work_order_transition(work_order, "reschedule", actor=actor, reason=reason)
        visit = (
            work_order.visits.select_for_update()
            .filter(status=VisitStatus.SCHEDULED)
            .order_by("window_start", "pk")
            .first()
        )
        if visit is None:
            raise InvalidTransitionError(_("There is no scheduled visit to move."))
        before_engineer = visit.engineer
        engineer = engineer or before_engineer
        overridden = _check_engineer(
            actor=actor, work_order=work_order, engineer=engineer, start=window_start,
            end=window_end, override_reason=override_reason,
        )  # fmt: skip
        visit.engineer = engineer
        visit.window_start, visit.window_end = window_start, window_end
        visit.reschedule_count += 1
        visit.reschedule_reason = reason.strip()[:300]
        # A new window gets its own late-arrival alert.
        visit.late_alerted_at = None
        if overridden:
            visit.override_reason, visit.override_by = override_reason.strip(), actor
        elif engineer.pk != before_engineer.pk:
            visit.override_reason, visit.override_by = "", None
        with audit_context(actor=actor, action="reschedule", reason=reason):
            visit.save()
        work_order.engineer = engineer
        work_order.appointment_start, work_order.appointment_end = window_start, window_end
        with audit_context(actor=actor, action="reschedule", reason=reason):
            work_order.save()
        window = window_text(window_start, window_end)
        recipients = (
            [engineer] if engineer.pk == before_engineer.pk else [engineer, before_engineer]
        )
        staff_notify(
            work_order, recipients=recipients, template="work_orders_dispatch_rescheduled",
            visit=visit, window=window, reason=reason.strip(),
        )  # fmt: skip
        customer_inform(
            work_order,
            text=_("Your appointment moves to %(window)s: %(reason)s %(coming)s")
            % {
                "window": window,
                "reason": reason.strip(),
                "coming": _coming_text(engineer, window_start, window_end),
            },
            actor=actor,
        )
    return work_order


def _position(
    latitude: Any, longitude: Any, problems: Problems
) -> tuple[Decimal | None, Decimal | None]:
    """A phone's position, rounded to the six places kept; absent when not shared."""
    if latitude in (None, "") or longitude in (None, ""):
        return None, None
    try:
        lat = Decimal(str(latitude)).quantize(Decimal("0.000001"))
        lon = Decimal(str(longitude)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        problems.add("latitude", _("The position is not valid."))
        return None, None
    if not (-90 <= lat <= 90):
        problems.add("latitude", _("The latitude must be between -90 and 90."))
    if not (-180 <= lon <= 180):
        problems.add("longitude", _("The longitude must be between -180 and 180."))
    return lat, lon


def _when(at: datetime.datetime | None, problems: Problems) -> datetime.datetime:
    now = timezone.now()
    if at is None:
        return now
    if at > now + FUTURE_TOLERANCE:
        problems.add("at", _("The time is in the future."))
    return at


def _ticket_arrival(work_order: WorkOrder, *, actor: Any, at: datetime.datetime) -> None:
    """The engineer's arrival meets the service request's on-site target, when one runs."""
    if work_order.ticket_id is None:
        return
    ticket = work_order.ticket
    running = ticket.clocks.filter(
        target="onsite", met_at__isnull=True, stopped_at__isnull=True
    ).exists()
    if not running:
        return
    from medservice.tickets.services import ticket_record_arrival

    try:
        with transaction.atomic():
            ticket_record_arrival(ticket=ticket, actor=actor, arrived_at=at)
    except DomainError:
        # The request may be in a state that records no arrival (waiting on the customer, or
        # the actor may not work requests): the visit is still recorded.
        pass


def visit_check_in(
    *,
    actor: Any,
    work_order: WorkOrder,
    at: datetime.datetime | None = None,
    latitude: Any = None,
    longitude: Any = None,
    photo: Any = None,
    submission_key: str = "",
) -> WorkOrder:
    """The engineer is on site: the scheduled visit is checked in with the time (and the
    position and a photo where the phone gives them), the work starts, and the service
    request's on-site target is met. A form sent again after a dropped connection (same
    submission key) changes nothing."""
    problems = Problems()
    at = _when(at, problems)
    lat, lon = _position(latitude, longitude, problems)
    problems.raise_if_any(_("The check-in was not recorded."))
    with transaction.atomic():
        if not submission_once(
            user=actor, key=submission_key, action="check-in", work_order=work_order
        ):
            return WorkOrder.objects.get(pk=work_order.pk)
        if work_order.kind in ALTERING_KINDS:
            refuse_under_evidence_hold(work_order.device)
        work_order = work_order_transition(work_order, "check-in", actor=actor)
        visit = (
            work_order.visits.select_for_update()
            .filter(status=VisitStatus.SCHEDULED)
            .order_by("window_start", "pk")
            .first()
        )
        if visit is None:  # pragma: no cover - the transition's guard checked it
            raise InvalidTransitionError(_("There is no scheduled visit to check in to."))
        visit.status = VisitStatus.ON_SITE
        visit.checked_in_at = at
        visit.checked_in_latitude, visit.checked_in_longitude = lat, lon
        with audit_context(actor=actor, action="check-in"):
            visit.save()
        if photo:
            file_attach(actor=actor, work_order=work_order, kind="check_in_photo", upload=photo,
                        note=_("Check-in"))  # fmt: skip
        _ticket_arrival(work_order, actor=actor, at=at)
    return work_order


def visit_check_out(
    *,
    actor: Any,
    work_order: WorkOrder,
    at: datetime.datetime | None = None,
    latitude: Any = None,
    longitude: Any = None,
    submission_key: str = "",
) -> WorkOrder:
    """The engineer leaves the site: the visit is done, with the time (and position). The work
    order stays in progress until it is completed (another visit may follow). A form sent again
    (same submission key) changes nothing."""
    problems = Problems()
    at = _when(at, problems)
    lat, lon = _position(latitude, longitude, problems)
    problems.raise_if_any(_("The check-out was not recorded."))
    with transaction.atomic():
        if not submission_once(
            user=actor, key=submission_key, action="check-out", work_order=work_order
        ):
            return WorkOrder.objects.get(pk=work_order.pk)
        work_order = work_order_transition(work_order, "check-out", actor=actor)
        visit = (
            work_order.visits.select_for_update()
            .filter(status=VisitStatus.ON_SITE)
            .order_by("-checked_in_at", "-pk")
            .first()
        )
        if visit is None:  # pragma: no cover - the transition's guard checked it
            raise InvalidTransitionError(_("Nobody is checked in on this work order."))
        if visit.checked_in_at and at < visit.checked_in_at:
            message = _("The check-out time is before the check-in (%(time)s).") % {
                "time": timezone.localtime(visit.checked_in_at).strftime("%Y-%m-%d %H:%M")
            }
            raise InvalidInputError(message, fields={"at": [message]})
        visit.status = VisitStatus.DONE
        visit.checked_out_at = at
        visit.checked_out_latitude, visit.checked_out_longitude = lat, lon
        with audit_context(actor=actor, action="check-out"):
            visit.save()
    return work_order


def late_arrivals_alert(*, now: datetime.datetime | None = None) -> int:
    """Tell the service managers and the work order's owner, once per window, of each
    scheduled visit whose window started more than the grace period ago (setting
    WORK_ORDER_LATE_GRACE_MINUTES, default 15) without a check-in. Safe to run twice: each
    alert is claimed by a conditional update first."""
    now = now or timezone.now()
    grace = datetime.timedelta(minutes=int(getattr(settings, "WORK_ORDER_LATE_GRACE_MINUTES", 15)))
    late = (
        Visit.objects.filter(
            status=VisitStatus.SCHEDULED,
            checked_in_at__isnull=True,
            late_alerted_at__isnull=True,
            window_start__lte=now - grace,
        )
        .select_related("engineer", "work_order__owner", "work_order__organization")
        .order_by("window_start", "pk")
    )
    managers = service_managers()
    alerted = 0
    for visit in late:
        with transaction.atomic():
            claimed = Visit.objects.filter(
                pk=visit.pk, status=VisitStatus.SCHEDULED, late_alerted_at__isnull=True
            ).update(late_alerted_at=now)
            if not claimed:
                continue
            staff_notify(
                visit.work_order,
                recipients=[*managers, visit.work_order.owner],
                template="work_orders_dispatch_late",
                visit=visit,
                engineer_name=person_name(visit.engineer),
                window=window_text(visit.window_start, visit.window_end),
                minutes=int((now - visit.window_start).total_seconds() // 60),
            )
        alerted += 1
    return alerted


def engineer_schedule(
    engineer: Any,
    *,
    start_day: datetime.date,
    end_day: datetime.date,
    among: QuerySet[Visit] | None = None,
) -> list[Visit]:
    """The engineer's visits from the first day to the last (both included, local days), in
    order, with what a day's list shows (customer, device) loaded; cancelled ones left out.
    `among` narrows them to the visits a reader may see."""
    start, _end = local_day_bounds(start_day)
    _start, end = local_day_bounds(end_day)
    visits = Visit.objects.all() if among is None else among
    return list(
        visits.filter(engineer=engineer, window_start__gte=start, window_start__lt=end)
        .exclude(status=VisitStatus.CANCELLED)
        .select_related(
            "work_order__organization",
            "work_order__device__device_model",
            "work_order__department",
        )
        .order_by("window_start", "pk")
    )
