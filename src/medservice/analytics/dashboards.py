"""The service and quality dashboards: current state ("live"), read through the owning apps'
selectors so each user sees only their scope, in a fixed number of queries whatever the
number of records (two per card: the count and the first rows; grouped cards one more).

Each card is a count linking to the records' list page (with the list's own filters where it
has them) and the most urgent rows. `limit=0` gives the compact version of the home page:
counts only, no rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ROWS = 5


@dataclass(frozen=True)
class Group:
    """One line of a card split by a dimension (tickets by state, visits by engineer)."""

    label: Any
    count: int
    url: str = ""


@dataclass
class Card:
    """One panel of a dashboard: how many, where the list is, and the first rows."""

    key: str
    title: Any
    count: int
    url: str
    rows: list[Any] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    # Bootstrap colour of the count badge when there is something: danger, warning, primary.
    tone: str = "primary"


@dataclass(frozen=True)
class LegalClock:
    """A regulatory due time still running: an adverse-event report, a final report, a recall's
    notices, filing or summary, a quality accident's report."""

    kind: Any
    number: str
    url: str
    due_at: datetime.datetime
    overdue: bool


@dataclass(frozen=True)
class RecallRow:
    recall: Any
    progress: Any


def _url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _card(
    key: str, title: Any, queryset: QuerySet, url: str, limit: int, *, tone: str = "primary"
) -> Card:
    """The count and the first `limit` rows of an ordered queryset (two queries; one when
    `limit` is 0)."""
    rows = list(queryset[:limit]) if limit else []
    return Card(key=key, title=title, count=queryset.count(), url=url, rows=rows, tone=tone)


def _groups(
    queryset: QuerySet, field_name: str, choices: Iterable[tuple[str, Any]], list_name: str
) -> list[Group]:
    """Counts per value of a choice field (one query), in the choices' order."""
    counts = dict(
        queryset.order_by()
        .values_list(field_name)
        .annotate(count=Count("pk"))
        .values_list(field_name, "count")
    )
    return [
        Group(label=label, count=counts[value], url=_url(list_name, **{field_name: value}))
        for value, label in choices
        if counts.get(value)
    ]


# --- Service dashboard --------------------------------------------------------------------------


def service_dashboard(user: Any, *, limit: int = ROWS, now: datetime.datetime | None = None
                      ) -> list[Card]:  # fmt: skip
    """The service manager's view: open requests by state, promises at risk and breached,
    requests nobody owns, today's visits by engineer, late arrivals, overdue PM, stock alerts
    and low survey scores waiting for an answer."""
    from medservice.feedback.choices import EscalationStatus
    from medservice.feedback.selectors_followups import survey_escalations_visible_to
    from medservice.inventory.selectors import (
        lots_expiring,
        lots_visible_to,
        parts_below_reorder_point,
        parts_visible_to,
    )
    from medservice.maintenance.selectors import pm_plans_visible_to
    from medservice.maintenance.services import pm_plans_overdue
    from medservice.tickets.choices import Status
    from medservice.tickets.models import TicketClock
    from medservice.tickets.selectors import tickets_at_risk, tickets_open
    from medservice.work_orders.choices import VisitStatus
    from medservice.work_orders.dispatch import local_day_bounds
    from medservice.work_orders.selectors import visits_visible_to

    now = now or timezone.now()
    today = timezone.localdate(now)
    tickets_list = "tickets:tickets-list"
    cards: list[Card] = []

    open_tickets = tickets_open(user).select_related("organization", "owner")
    by_due = open_tickets.order_by("next_due_at", "id")
    card = _card("open", _("Open service requests"), by_due,
                 _url(tickets_list, open="true", sort="next_due_at"), limit)  # fmt: skip
    card.groups = _groups(open_tickets, "status", Status.choices, tickets_list)
    cards.append(card)

    at_risk = tickets_at_risk(user)
    breached_clocks = TicketClock.objects.filter(
        met_at__isnull=True, stopped_at__isnull=True, breached_at__isnull=False
    )
    breached = at_risk.filter(pk__in=breached_clocks.values("ticket_id"))
    cards.append(
        _card("at-risk", _("Service promises at risk"),
              at_risk.exclude(pk__in=breached_clocks.values("ticket_id")),
              _url(tickets_list, open="true", sort="next_due_at"), limit, tone="warning")
    )  # fmt: skip
    cards.append(
        _card("breached", _("Service promises breached"), breached,
              _url(tickets_list, overdue="true", sort="next_due_at"), limit, tone="danger")
    )  # fmt: skip
    cards.append(
        _card("unassigned", _("Open requests nobody owns"),
              by_due.filter(owner__isnull=True),
              _url(tickets_list, open="true", unowned="true", sort="next_due_at"), limit,
              tone="warning")
    )  # fmt: skip

    start, end = local_day_bounds(today)
    visits = visits_visible_to(user).select_related("engineer", "work_order__organization")
    today_visits = (
        visits.filter(window_start__gte=start, window_start__lt=end)
        .exclude(status=VisitStatus.CANCELLED)
        .order_by("window_start", "pk")
    )
    card = _card(
        "visits-today", _("Today's visits"), today_visits,
        _url("work_orders:work-orders-list", appointment_after=today.isoformat(),
             appointment_before=today.isoformat()), limit,
    )  # fmt: skip
    per_engineer = (
        today_visits.order_by()
        .values_list("engineer_id", "engineer__first_name", "engineer__last_name",
                     "engineer__username")
        .annotate(count=Count("pk"))
        .order_by("engineer__username")
    )  # fmt: skip
    card.groups = [
        Group(label=f"{last}{first}".strip() or username, count=count,
              url=_url("work_orders:work-orders-list", engineer=engineer_id,
                       appointment_after=today.isoformat(), appointment_before=today.isoformat()))
        for engineer_id, first, last, username, count in per_engineer
    ]  # fmt: skip
    cards.append(card)

    grace = datetime.timedelta(minutes=int(getattr(settings, "WORK_ORDER_LATE_GRACE_MINUTES", 15)))
    # Today's: a visit of an earlier day never checked in is a record to correct on the
    # dispatch board, not an engineer on the road now.
    late = today_visits.filter(
        status=VisitStatus.SCHEDULED, checked_in_at__isnull=True, window_start__lte=now - grace
    ).order_by("window_start", "pk")
    cards.append(
        _card("late", _("Late arrivals"), late, _url("work_orders:dispatch-board"), limit,
              tone="danger")
    )  # fmt: skip

    overdue_pm = pm_plans_overdue(pm_plans_visible_to(user), today=today).select_related(
        "device__device_model", "organization"
    )
    cards.append(
        _card("pm-overdue", _("Overdue preventive maintenance"), overdue_pm,
              _url("maintenance:pm-overdue"), limit, tone="warning")
    )  # fmt: skip

    reorder = parts_below_reorder_point().filter(pk__in=parts_visible_to(user).values("pk"))
    cards.append(
        _card("reorder", _("Parts below reorder point"), reorder, _url("inventory:parts-list"),
              limit, tone="warning")
    )  # fmt: skip
    within = settings.MEDSERVICE_PART_EXPIRY_WARNING_DAYS
    expiring = lots_expiring(within_days=within, on=today).filter(
        pk__in=lots_visible_to(user).values("pk")
    )
    cards.append(
        _card("expiring", _("Part lots expiring"), expiring,
              _url("inventory:part-lots-list",
                   expires_before=(today + datetime.timedelta(days=within + 1)).isoformat()),
              limit, tone="warning")
    )  # fmt: skip

    low_surveys = (
        survey_escalations_visible_to(user)
        .filter(status=EscalationStatus.OPEN)
        .select_related("organization", "assignee")
        .order_by("due_at", "pk")
    )
    cards.append(
        _card("low-surveys", _("Low survey scores to answer"), low_surveys,
              _url("feedback:survey-escalations-list", status=EscalationStatus.OPEN), limit,
              tone="danger")
    )  # fmt: skip
    return cards


# --- Quality dashboard --------------------------------------------------------------------------


def _clocks(
    queryset: QuerySet, due_field: str, kind: Any, detail: str, limit: int,
    now: datetime.datetime,
) -> tuple[int, list[LegalClock]]:  # fmt: skip
    rows = list(queryset.order_by(due_field, "pk")[:limit]) if limit else []
    clocks = [
        LegalClock(kind=kind, number=record.number, url=_url(detail, record.pk),
                   due_at=getattr(record, due_field), overdue=getattr(record, due_field) <= now)
        for record in rows
    ]  # fmt: skip
    return queryset.count(), clocks


def legal_clocks(user: Any, *, limit: int = ROWS, now: datetime.datetime | None = None) -> Card:
    """Every regulatory due time still running, soonest first (two queries per kind)."""
    from medservice.quality.adverse_events import adverse_event_reports_visible_to
    from medservice.quality.choices import RecallStatus
    from medservice.quality.models import RecallRecipient
    from medservice.quality.recalls import recalls_visible_to
    from medservice.quality.selectors_accidents import accidents_visible_to

    now = now or timezone.now()
    reports = adverse_event_reports_visible_to(user)
    recalls = recalls_visible_to(user).filter(status=RecallStatus.IN_PROGRESS)
    pending_notice = RecallRecipient.objects.filter(recall=OuterRef("pk"), notified_at__isnull=True)
    sources = [
        (reports.filter(submitted_at__isnull=True, report_due_at__isnull=False),
         "report_due_at", _("Adverse-event report"), "quality:adverse-event-reports-detail"),
        (reports.filter(final_submitted_at__isnull=True, final_due_at__isnull=False),
         "final_due_at", _("Final adverse-event report"), "quality:adverse-event-reports-detail"),
        (recalls.filter(notify_due_at__isnull=False).filter(Exists(pending_notice)),
         "notify_due_at", _("Recall notices"), "quality:recalls-detail"),
        (recalls.filter(filed_at__isnull=True, filing_due_at__isnull=False),
         "filing_due_at", _("Recall filing"), "quality:recalls-detail"),
        (recalls.filter(summary_submitted_at__isnull=True, summary_due_at__isnull=False),
         "summary_due_at", _("Recall summary report"), "quality:recalls-detail"),
        (accidents_visible_to(user).filter(report_submitted_at__isnull=True,
                                           report_due_at__isnull=False),
         "report_due_at", _("Quality accident report"), "quality:quality-accidents-detail"),
    ]  # fmt: skip
    total = 0
    rows: list[LegalClock] = []
    for queryset, due_field, kind, detail in sources:
        count, clocks = _clocks(queryset, due_field, kind, detail, limit, now)
        total += count
        rows.extend(clocks)
    rows.sort(key=lambda clock: (clock.due_at, clock.number))
    return Card(
        key="legal-clocks", title=_("Legal clocks"), count=total,
        url=_url("quality:adverse-event-reports-list"), rows=rows[:limit], tone="danger",
    )  # fmt: skip


def quality_dashboard(
    user: Any, *, limit: int = ROWS, now: datetime.datetime | None = None
) -> list[Card]:
    """The quality manager's view: legal clocks by due time, open quality cases by status,
    recalls in progress with their progress, trend signals waiting for a decision, and open
    CAPAs by kind."""
    from medservice.quality.capa import capas_visible_to
    from medservice.quality.choices import (
        OPEN_CAPA_STATUSES,
        OPEN_CASE_STATUSES,
        CapaKind,
        CaseStatus,
        RecallStatus,
    )
    from medservice.quality.recalls import recall_progress, recalls_visible_to
    from medservice.quality.selectors import cases_visible_to
    from medservice.quality.trends import signals_open, trend_signals_visible_to

    now = now or timezone.now()
    cards = [legal_clocks(user, limit=limit, now=now)]

    cases = cases_visible_to(user).filter(status__in=OPEN_CASE_STATUSES)
    card = _card(
        "cases", _("Open quality cases"),
        cases.select_related("organization").order_by("contact_due_at", "pk"),
        _url("quality:quality-cases-list"), limit,
    )  # fmt: skip
    card.groups = _groups(cases, "status", CaseStatus.choices, "quality:quality-cases-list")
    cards.append(card)

    recalls = (
        recalls_visible_to(user)
        .filter(status=RecallStatus.IN_PROGRESS)
        .select_related("device_model")
        .order_by("decided_at", "pk")
    )
    card = _card("recalls", _("Recalls in progress"), recalls,
                 _url("quality:recalls-list", status=RecallStatus.IN_PROGRESS), limit)  # fmt: skip
    # Two queries per recall shown: at most 2 × limit.
    card.rows = [RecallRow(recall=recall, progress=recall_progress(recall)) for recall in card.rows]
    cards.append(card)

    signals = signals_open().filter(pk__in=trend_signals_visible_to(user).values("pk"))
    cards.append(
        _card("signals", _("Trend signals to review"), signals.select_related("device_model"),
              _url("quality:trend-signals-open"), limit, tone="warning")
    )  # fmt: skip

    capas = capas_visible_to(user).filter(status__in=OPEN_CAPA_STATUSES)
    card = _card("capas", _("Open CAPAs"),
                 capas.select_related("owner").order_by("due_on", "pk"),
                 _url("quality:capas-list"), limit)  # fmt: skip
    card.groups = _groups(capas, "kind", CapaKind.choices, "quality:capas-list")
    cards.append(card)
    return cards
