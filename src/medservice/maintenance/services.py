"""Preventive maintenance: plans, the daily job that opens each PM work order once, ahead of
its due date, and what the work order's completion or cancellation does to the plan.

Installation and acceptance are in services_acceptance.py, operator training and re-training
suggestions in services_training.py. Every write is atomic and audited; the job is idempotent
and safe to run twice at once (one visit per plan and due date, locked while its work order is
opened)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    PermissionDeniedError,
    Problems,
)
from medservice.maintenance.choices import PmIntervalSource, PmVisitStatus
from medservice.maintenance.models import PmPlan, PmVisit

logger = logging.getLogger(__name__)

# Contract kinds that include preventive maintenance (installed_base's coverage table).
PM_CONTRACT_KINDS = frozenset({"full_service", "pm_only"})
# Work-order states after which a PM work order no longer serves its visit.
ABANDONED_STATUSES = frozenset({"cancelled", "declined"})


def pm_lead_days() -> int:
    """How many days before the due date the PM work order is opened."""
    return int(getattr(settings, "MAINTENANCE_PM_LEAD_DAYS", 14))


def require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else "—"


# --- Plans --------------------------------------------------------------------------------------


def _interval(
    *,
    device: Any,
    source: str,
    contract: Any,
    interval_days: int | None,
    problems: Problems,
) -> int | None:
    """The plan's interval by its source; problems name the field at fault."""
    if source not in PmIntervalSource.values:
        problems.add("interval_source", _("Choose where the interval comes from."))
        return None
    if source == PmIntervalSource.MODEL:
        model_interval = device.device_model.pm_interval_days if device is not None else None
        if device is not None and not model_interval:
            problems.add(
                "interval_source",
                _(
                    "%(model)s has no PM interval in the catalogue: take it from a contract or set it by hand."
                )
                % {"model": device.device_model},
            )
        return model_interval
    if source == PmIntervalSource.CONTRACT:
        if contract is None:
            problems.add("contract", _("Choose the service contract that sets the interval."))
        elif device is not None:
            if contract.kind not in PM_CONTRACT_KINDS:
                problems.add(
                    "contract",
                    _("Contract %(number)s (%(kind)s) does not include preventive maintenance.")
                    % {"number": contract.number, "kind": contract.get_kind_display()},
                )
            if not contract.devices.filter(pk=device.pk).exists():
                problems.add(
                    "contract",
                    _("Contract %(number)s does not cover %(device)s.")
                    % {"number": contract.number, "device": device},
                )
    if not interval_days or interval_days < 1:
        problems.add(
            "interval_days",
            _("Give the interval agreed in the contract, in days (1 or more).")
            if source == PmIntervalSource.CONTRACT
            else _("Give the interval in days (1 or more)."),
        )
        return None
    return int(interval_days)


def _first_due(device: Any, interval: int) -> datetime.date:
    """From the last service, else acceptance, else installation, else today."""
    start = (
        device.last_service_on or device.accepted_on or device.installed_on or timezone.localdate()
    )
    return start + datetime.timedelta(days=interval)


def device_pm_sync(device: Any, next_due_on: datetime.date | None, *, actor: Any) -> None:
    """Keep the device's own "next PM due" (installed_base) equal to its plan's."""
    locked = type(device)._base_manager.select_for_update().get(pk=device.pk)
    if locked.next_pm_due_on == next_due_on:
        return
    locked.next_pm_due_on = next_due_on
    with audit_context(actor=actor):
        locked.save(update_fields=["next_pm_due_on", "updated_at"])


def pm_plan_create(*, actor: Any, model: type[PmPlan] = PmPlan, data: dict[str, Any]) -> PmPlan:
    """Plan a device's preventive maintenance. The interval comes from the model, the contract
    (its agreed interval, the contract must include PM and cover the device) or by hand; the
    first due date, unless given, is one interval after the last service (or acceptance,
    installation, today)."""
    require(actor, "maintenance.add_pmplan", _("You may not plan preventive maintenance."))
    device = data.get("device")
    source = data.get("interval_source") or PmIntervalSource.MODEL
    contract = data.get("contract")
    problems = Problems()
    if device is None:
        problems.add("device", _("Choose the device."))
    elif PmPlan.objects.filter(device=device).exists():
        problems.add("device", _("%(device)s already has a PM plan.") % {"device": device})
    interval = _interval(
        device=device, source=source, contract=contract,
        interval_days=data.get("interval_days"), problems=problems,
    )  # fmt: skip
    problems.raise_if_any(_("The PM plan was not saved."))
    next_due = data.get("next_due_on") or _first_due(device, interval)
    with transaction.atomic(), audit_context(actor=actor):
        plan = PmPlan(
            device=device,
            organization=device.organization,
            interval_source=source,
            contract=contract if source == PmIntervalSource.CONTRACT else None,
            interval_days=interval,
            next_due_on=next_due,
            active=data.get("active", True),
            notes=(data.get("notes") or "").strip(),
        )
        plan.full_clean()
        try:
            with transaction.atomic():
                plan.save()
        except IntegrityError:
            message = _("%(device)s already has a PM plan.") % {"device": device}
            raise ConflictError(message, fields={"device": [message]}) from None
        device_pm_sync(device, plan.next_due_on if plan.active else None, actor=actor)
    return plan


def pm_plan_update(
    *, actor: Any, instance: PmPlan, data: dict[str, Any], expected_version: int | None = None
) -> PmPlan:
    """Change the interval, its source, the next due date, pause or resume the plan; the device
    is never changed (a new device gets its own plan)."""
    require(actor, "maintenance.change_pmplan", _("You may not change PM plans."))
    with transaction.atomic(), audit_context(actor=actor):
        current = PmPlan.objects.select_for_update().get(pk=instance.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. Reload it, then apply your change again."
                )
                % {"record": current}
            )
        device = current.device
        if data.get("device") is not None and data["device"].pk != device.pk:
            message = _("A plan stays with its device: plan the other device separately.")
            raise InvalidInputError(message, fields={"device": [message]})
        source = data.get("interval_source", current.interval_source)
        contract = data.get("contract", current.contract)
        problems = Problems()
        interval = _interval(
            device=device, source=source, contract=contract,
            interval_days=data.get("interval_days", current.interval_days), problems=problems,
        )  # fmt: skip
        problems.raise_if_any(_("The PM plan was not saved."))
        current.interval_source = source
        current.contract = contract if source == PmIntervalSource.CONTRACT else None
        current.interval_days = interval
        if data.get("next_due_on"):
            current.next_due_on = data["next_due_on"]
        if "active" in data:
            current.active = bool(data["active"])
        if "notes" in data:
            current.notes = (data.get("notes") or "").strip()
        current.full_clean()
        current.save()
        device_pm_sync(device, current.next_due_on if current.active else None, actor=actor)
    return current


# --- The daily job ------------------------------------------------------------------------------


def _pm_problem_text(plan: PmPlan, due_on: datetime.date) -> str:
    items = list(plan.device.device_model.acceptance_items.order_by("position", "pk"))
    checklist = "; ".join(item.name for item in items) or _("no checklist in the catalogue")
    return _(
        "Preventive maintenance due on %(due)s (every %(days)s days). Checklist: %(checklist)s."
    ) % {"due": _day(due_on), "days": plan.interval_days, "checklist": checklist}


def _visit_for(plan: PmPlan, due_on: datetime.date) -> PmVisit:
    """The plan's visit for `due_on`, created if absent. Two jobs at once: one insert wins on
    the unique constraint, the other reads the winner's row."""
    try:
        with transaction.atomic():
            visit, _created = PmVisit.objects.get_or_create(
                plan=plan, due_on=due_on,
                defaults={"device_id": plan.device_id, "organization_id": plan.organization_id},
            )  # fmt: skip
    except IntegrityError:
        visit = PmVisit.objects.get(plan=plan, due_on=due_on)
    return visit


def _order_visit(plan_id: int, today: datetime.date, horizon: datetime.date) -> bool:
    """Open the PM work order of one plan's next due visit; False when there is nothing to do
    (not yet due, already ordered or done, the contract ended) or it was refused."""
    from medservice.work_orders.choices import WorkOrderKind, WorkOrderSource
    from medservice.work_orders.services import work_order_create

    plan = PmPlan.objects.select_related("device__device_model", "contract").get(pk=plan_id)
    if not plan.active or plan.next_due_on > horizon:
        return False
    if plan.contract_id is not None and plan.contract.ends_on < plan.next_due_on:
        return False  # the contract's PM ends with the contract
    visit = _visit_for(plan, plan.next_due_on)
    try:
        with transaction.atomic():
            # The lock makes a second job wait, then see the visit ordered.
            locked = PmVisit.objects.select_for_update().get(pk=visit.pk)
            if locked.status != PmVisitStatus.OPEN or locked.work_order_id is not None:
                return False
            work_order = work_order_create(
                actor=None,
                kind=WorkOrderKind.PREVENTIVE_MAINTENANCE,
                device=plan.device,
                problem=_pm_problem_text(plan, locked.due_on),
                source=WorkOrderSource.PM_PLAN,
                source_reference=f"PM-{plan.pk}/{locked.due_on.isoformat()}",
            )
            locked.work_order = work_order
            locked.status = PmVisitStatus.ORDERED
            locked.save()
    except DomainError as error:
        # E.g. the device is kept as evidence: the visit stays open and the next run retries.
        logger.warning("No PM work order for plan %s: %s", plan.pk, error.message)
        return False
    return True


def pm_visits_reconcile() -> int:
    """Visits whose work order was cancelled or its quote declined open again (a safety net for
    the cancellation receiver); returns how many."""
    stale = PmVisit.objects.filter(
        status=PmVisitStatus.ORDERED, work_order__status__in=ABANDONED_STATUSES
    ).values_list("work_order_id", flat=True)
    return sum(pm_visit_reopen(work_order_id=pk) for pk in list(stale))


def pm_work_orders_create(*, today: datetime.date | None = None) -> int:
    """The daily job: every active plan due within the lead time (MAINTENANCE_PM_LEAD_DAYS)
    gets its PM work order, once. Returns how many were opened; a second run opens none."""
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=pm_lead_days())
    pm_visits_reconcile()
    opened = 0
    due = PmPlan.objects.filter(active=True, next_due_on__lte=horizon).order_by("next_due_on", "pk")
    for plan_id in list(due.values_list("pk", flat=True)):
        if _order_visit(plan_id, today, horizon):
            opened += 1
    return opened


# --- What the work order's end does -------------------------------------------------------------


def pm_visit_complete(*, work_order: Any) -> PmVisit | None:
    """The PM work order is completed: its visit is done on the completion day, and the plan's
    next due date moves one interval on from that day (as the work-orders app counts the
    device's next PM), the device following the plan."""
    with transaction.atomic():
        visit = (
            PmVisit.objects.select_for_update()
            .filter(work_order_id=work_order.pk)
            .exclude(status=PmVisitStatus.DONE)
            .first()
        )
        if visit is None:
            return None
        done_on = timezone.localdate(work_order.completed_at or timezone.now())
        with audit_context(actor=None, job="maintenance.pm-completed"):
            visit.status = PmVisitStatus.DONE
            visit.done_on = done_on
            visit.save()
            plan = PmPlan.objects.select_for_update().get(pk=visit.plan_id)
            plan.last_done_on = done_on
            # A later visit may already be due (the plan was moved by hand): never move back.
            plan.next_due_on = max(
                plan.next_due_on if plan.next_due_on > visit.due_on else visit.due_on,
                done_on + datetime.timedelta(days=plan.interval_days),
            )
            plan.save()
            device_pm_sync(plan.device, plan.next_due_on if plan.active else None, actor=None)
    return visit


def pm_visit_reopen(*, work_order_id: int) -> int:
    """The PM work order was cancelled (or its quote declined): the visit is due again without
    a work order, so the next run of the job opens a new one."""
    with transaction.atomic():
        visits = list(
            PmVisit.objects.select_for_update().filter(
                work_order_id=work_order_id, status=PmVisitStatus.ORDERED
            )
        )
        with audit_context(actor=None, job="maintenance.pm-reopened"):
            for visit in visits:
                visit.status = PmVisitStatus.OPEN
                visit.work_order = None
                visit.reopened_count += 1
                visit.save()
    return len(visits)


# --- Reads: overdue and completion rate ---------------------------------------------------------


def pm_plans_overdue(plans: QuerySet[PmPlan], *, today: datetime.date | None = None) -> QuerySet:
    """Active plans whose due date has passed without the PM being done."""
    today = today or timezone.localdate()
    return plans.filter(active=True, next_due_on__lt=today).order_by("next_due_on", "pk")


@dataclass
class CompletionRate:
    """PM visits due in a period and how many were done; life-support devices apart."""

    start: datetime.date
    end: datetime.date
    due: int = 0
    done: int = 0
    life_support_due: int = 0
    life_support_done: int = 0
    # Life-support visits due in the period and not done: (visit id, device, due date).
    life_support_missed: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def _rate(done: int, due: int) -> float | None:
        return round(100 * done / due, 1) if due else None

    @property
    def rate(self) -> float | None:
        return self._rate(self.done, self.due)

    @property
    def life_support_rate(self) -> float | None:
        return self._rate(self.life_support_done, self.life_support_due)

    @property
    def life_support_flagged(self) -> bool:
        """Life-support devices must all be maintained: flagged when any was not."""
        return self.life_support_done < self.life_support_due

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "due": self.due,
            "done": self.done,
            "rate": self.rate,
            "life_support_due": self.life_support_due,
            "life_support_done": self.life_support_done,
            "life_support_rate": self.life_support_rate,
            "life_support_flagged": self.life_support_flagged,
            "life_support_missed": self.life_support_missed,
        }


def pm_completion_rate(
    visits: QuerySet[PmVisit], *, start: datetime.date, end: datetime.date
) -> CompletionRate:
    """Of the visits due between `start` and `end` (both included), how many are done — in
    two queries whatever the number of visits."""
    if end < start:
        message = _("The period ends before it starts.")
        raise InvalidInputError(message, fields={"end": [message]})
    in_period = visits.filter(due_on__gte=start, due_on__lte=end)
    life = Q(device__device_model__life_support=True)
    done = Q(status=PmVisitStatus.DONE)
    counts = in_period.aggregate(
        due=Count("pk"),
        done=Count("pk", filter=done),
        life_support_due=Count("pk", filter=life),
        life_support_done=Count("pk", filter=life & done),
    )
    result = CompletionRate(start=start, end=end, **counts)
    missed = (
        in_period.filter(life)
        .exclude(done)
        .select_related("device__device_model", "organization")
        .order_by("due_on", "pk")[:200]
    )
    result.life_support_missed = [
        {
            "visit": visit.pk,
            "device": visit.device_id,
            "device_label": str(visit.device),
            "organization": visit.organization.name,
            "due_on": visit.due_on.isoformat(),
        }
        for visit in missed
    ]
    return result
