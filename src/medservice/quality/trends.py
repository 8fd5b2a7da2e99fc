"""Trend monitoring of complaints: signals on a real rise.

Each month, for every device model, every batch (of a model) and every fault code, the number
of complaints is compared with what its trailing baseline leads one to expect for the units in
use that month:

- complaints: quality cases by their awareness month (per model and per model + batch), and
  repair work orders by the fault code diagnosed, by the month they were opened (per code);
- units in use at a month's end: the devices of the model / batch in the installed base (not
  those still in stock), plus the delivered quantities that have no device record of their own
  (consumables, store sales); for a fault code, the units of every model of its product line;
- baseline: the previous 12 months (QUALITY_TREND_BASELINE_MONTHS) that had units in use;
  rate = baseline complaints / baseline unit-months (a baseline without any complaint counts
  as half a complaint, so a long-quiet product is judged against a small, not a zero,
  expectation); a batch is judged against its model's rate (a new batch has no past of its
  own, and "worse than the model's other batches" is the question);
- expected = rate × units in use this month; the one-sided Poisson test gives
  p = P(X ≥ observed | expected);
- a signal is raised when p < 0.01 (QUALITY_TREND_ALPHA) and observed ≥ 3
  (QUALITY_TREND_MIN_OBSERVED), with at least 3 baseline months (QUALITY_TREND_MIN_BASELINE_MONTHS).

Why these numbers: hundreds of model / batch / code series are tested every month, so a 1 %
false-alarm rate keeps chance signals to a few a year instead of several a month; requiring three
complaints stops one or two complaints on a rarely complained-about product from "signalling"
(a single serious complaint is handled by its quality case, not by trending). Scaling by the
units in use means that selling more devices does not look like a rise in complaints.

The job is idempotent: a signal is unique per dimension, key and month, and a re-run finds it.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, PermissionDeniedError
from medservice.core.notifications import notify
from medservice.core.workflow import Transition, actions_allowed, transition
from medservice.quality.choices import (
    OPEN_SIGNAL_STATUSES,
    CapaKind,
    SignalStatus,
    TrendDimension,
)
from medservice.quality.models import QualityCase, TrendSignal

# A baseline without complaints counts as this many (see the module's docstring).
EMPTY_BASELINE_COUNT = 0.5


def trend_alpha() -> float:
    return float(getattr(settings, "QUALITY_TREND_ALPHA", 0.01))


def trend_min_observed() -> int:
    return int(getattr(settings, "QUALITY_TREND_MIN_OBSERVED", 3))


def trend_baseline_months() -> int:
    return int(getattr(settings, "QUALITY_TREND_BASELINE_MONTHS", 12))


def trend_min_baseline_months() -> int:
    return int(getattr(settings, "QUALITY_TREND_MIN_BASELINE_MONTHS", 3))


# --- Arithmetic ---------------------------------------------------------------------------------


def poisson_upper_tail(observed: int, expected: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(expected)."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0

    def term(k: int) -> float:
        return math.exp(k * math.log(expected) - expected - math.lgamma(k + 1))

    if observed <= expected:
        # The tail is large: one minus the (short) lower sum is precise enough.
        return max(0.0, 1.0 - sum(term(k) for k in range(observed)))
    # Beyond the mean the terms fall: add them until they no longer count.
    total, k = 0.0, observed
    while True:
        value = term(k)
        total += value
        if value < total * 1e-16 or k > observed + 10_000:
            return min(1.0, total)
        k += 1


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_add(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def previous_month(today: datetime.date | None = None) -> datetime.date:
    return month_add(month_start(today or timezone.localdate()), -1)


@dataclass(frozen=True)
class Judgement:
    """The test of one series in one month."""

    observed: int
    expected: float
    exposure: float
    baseline_count: int
    baseline_exposure: float
    p_value: float
    signal: bool


def judge(
    *,
    observed: int,
    exposure: float,
    baseline_counts: Iterable[int],
    baseline_exposures: Iterable[float],
) -> Judgement | None:
    """Apply the rule to one series; None when there is nothing to judge (no units in use,
    or too short a baseline)."""
    counts, exposures = list(baseline_counts), list(baseline_exposures)
    months = [(count, units) for count, units in zip(counts, exposures, strict=True) if units > 0]
    if exposure <= 0 or len(months) < trend_min_baseline_months():
        return None
    baseline_count = sum(count for count, _units in months)
    baseline_exposure = float(sum(units for _count, units in months))
    rate = max(baseline_count, EMPTY_BASELINE_COUNT) / baseline_exposure
    expected = round(rate * exposure, 4)
    p_value = poisson_upper_tail(observed, expected)
    return Judgement(
        observed=observed, expected=expected, exposure=float(exposure),
        baseline_count=baseline_count, baseline_exposure=baseline_exposure, p_value=p_value,
        signal=observed >= trend_min_observed() and p_value < trend_alpha(),
    )  # fmt: skip


# --- Data ---------------------------------------------------------------------------------------

Series = dict[Any, dict[datetime.date, float]]


def _cumulative(starts: Series, months: list[datetime.date]) -> Series:
    """Units in use at each month's end from the units that started in each month."""
    result: Series = {}
    for key, by_month in starts.items():
        running = sum(units for month, units in by_month.items() if month < months[0])
        result[key] = {}
        for month in months:
            running += by_month.get(month, 0)
            result[key][month] = running
    return result


def unit_starts(
    *, organization_ids: Iterable[int] | None = None
) -> Iterator[tuple[int, str, datetime.date, float]]:
    """Units that came into use, as (model id, batch, start day, units): devices in the
    installed base that are not in stock (started at installation, else delivery, else
    recording), and delivered quantities beyond the devices recorded for their delivery line.
    `organization_ids` limits both to the units at those organisations (None: all). The trend
    rule and the analytics app's complaint rates count units in use with this one rule."""
    from medservice.installed_base.choices import DeviceStatus
    from medservice.installed_base.models import DeliveryLine, Device

    devices = Device.objects.exclude(status=DeviceStatus.IN_STOCK)
    lines = DeliveryLine.objects.all()
    if organization_ids is not None:
        ids = list(organization_ids)
        devices = devices.filter(organization__in=ids)
        lines = lines.filter(delivery__organization__in=ids)
    rows = devices.values_list(
        "device_model_id",
        "batch_number",
        "installed_on",
        "delivery_line__delivery__delivered_on",
        "created_at",
    ).order_by()
    for model_id, batch, installed_on, delivered_on, created_at in rows.iterator(2000):
        yield model_id, batch, installed_on or delivered_on or timezone.localdate(created_at), 1
    # The devices recorded against a line count wherever they are now, so the line's surplus
    # is its quantity less all its devices.
    surplus = lines.annotate(recorded=Count("devices")).values_list(
        "device_model_id", "batch_number", "delivery__delivered_on", "quantity", "recorded"
    )
    for model_id, batch, delivered_on, quantity, recorded in surplus.order_by().iterator(2000):
        if quantity > recorded:
            yield model_id, batch, delivered_on, quantity - recorded


def units_in_use(
    on: datetime.date, *, organization_ids: Iterable[int] | None = None
) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """Units in use at the end of the local day `on`, per model and per (model, batch), by
    the rule of `unit_starts`."""
    by_model: dict[int, float] = defaultdict(float)
    by_batch: dict[tuple[int, str], float] = defaultdict(float)
    for model_id, batch, day, units in unit_starts(organization_ids=organization_ids):
        if day <= on:
            by_model[model_id] += units
            if batch:
                by_batch[(model_id, batch)] += units
    return dict(by_model), dict(by_batch)


def _unit_starts() -> tuple[Series, Series]:
    """Units that came into use, per model and per (model, batch), by start month."""
    by_model: Series = defaultdict(lambda: defaultdict(float))
    by_batch: Series = defaultdict(lambda: defaultdict(float))
    for model_id, batch, day, units in unit_starts():
        month = month_start(day)
        by_model[model_id][month] += units
        if batch:
            by_batch[(model_id, batch)][month] += units
    return by_model, by_batch


def _aware_month(moment: datetime.datetime) -> datetime.date:
    return month_start(timezone.localdate(moment))


def _window_bounds(months: list[datetime.date]) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(months[0], datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(month_add(months[-1], 1), datetime.time.min, tzinfo=zone)
    return start, end


def _complaint_counts(months: list[datetime.date]) -> tuple[Series, Series]:
    start, end = _window_bounds(months)
    by_model: Series = defaultdict(lambda: defaultdict(float))
    by_batch: Series = defaultdict(lambda: defaultdict(float))
    rows = (
        QualityCase.objects.filter(
            device_model__isnull=False, awareness_at__gte=start, awareness_at__lt=end
        )
        .values_list("device_model_id", "batch_number", "awareness_at")
        .order_by()
    )
    for model_id, batch, awareness_at in rows.iterator(2000):
        month = _aware_month(awareness_at)
        by_model[model_id][month] += 1
        if batch:
            by_batch[(model_id, batch)][month] += 1
    return by_model, by_batch


def _fault_counts(months: list[datetime.date]) -> Series:
    from medservice.work_orders.choices import WorkOrderStatus
    from medservice.work_orders.models import WorkOrder

    start, end = _window_bounds(months)
    counts: Series = defaultdict(lambda: defaultdict(float))
    rows = (
        WorkOrder.objects.filter(
            fault_code__isnull=False, created_at__gte=start, created_at__lt=end
        )
        .exclude(status=WorkOrderStatus.CANCELLED)
        .values_list("fault_code_id", "created_at")
        .order_by()
    )
    for code_id, created_at in rows.iterator(2000):
        counts[code_id][_aware_month(created_at)] += 1
    return counts


# --- The job ------------------------------------------------------------------------------------


def _labels(dimension: str, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    from medservice.catalog.models import DeviceModel, FaultCode

    if dimension == TrendDimension.FAULT_CODE:
        codes = FaultCode.objects.in_bulk(keys)
        return {
            key: {"label": str(codes[key]), "fault_code": codes[key], "key": str(key)}
            for key in keys
        }
    model_ids = keys if dimension == TrendDimension.DEVICE_MODEL else [key[0] for key in keys]
    models = DeviceModel.objects.in_bulk(model_ids)
    result = {}
    for key in keys:
        if dimension == TrendDimension.DEVICE_MODEL:
            model = models[key]
            result[key] = {"label": f"{model.name} {model.model_spec}", "device_model": model,
                           "key": str(key)}  # fmt: skip
        else:
            model = models[key[0]]
            result[key] = {
                "label": gettext("%(model)s batch %(batch)s")
                % {"model": f"{model.name} {model.model_spec}", "batch": key[1]},
                "device_model": model, "batch_number": key[1], "key": f"{key[0]}/{key[1]}",
            }  # fmt: skip
    return result


def trends_evaluate(*, month: datetime.date | None = None) -> dict[str, int]:
    """Test every model, batch and fault code for `month` (default: the last complete month)
    and raise the signals the rule finds; quality staff are told of new ones. Safe to run any
    number of times: a signal already raised is found, not doubled."""
    from medservice.catalog.models import DeviceModel, FaultCode

    month = month_start(month or previous_month())
    baseline = [month_add(month, -offset) for offset in range(trend_baseline_months(), 0, -1)]
    months = [*baseline, month]
    model_starts, batch_starts = _unit_starts()
    units_model = _cumulative(model_starts, months)
    units_batch = _cumulative(batch_starts, months)
    cases_model, cases_batch = _complaint_counts(months)
    faults = _fault_counts(months)
    # A fault code's units are those of every model of its product line.
    line_of_model = dict(DeviceModel.objects.values_list("pk", "product_line_id"))
    units_line: Series = defaultdict(lambda: defaultdict(float))
    for model_id, by_month in units_model.items():
        line_id = line_of_model.get(model_id)
        if line_id is not None:
            for each, units in by_month.items():
                units_line[line_id][each] += units
    line_of_code = dict(
        FaultCode.objects.filter(pk__in=list(faults)).values_list("pk", "product_line_id")
    )

    candidates: dict[str, dict[Any, Judgement]] = defaultdict(dict)
    minimum = trend_min_observed()

    def consider(dimension: str, key: Any, observed: float, exposure: dict, rate_of: tuple):
        if observed < minimum:
            return  # below the floor nothing can signal: skip the arithmetic
        counts, exposures = rate_of
        judgement = judge(
            observed=int(observed), exposure=exposure.get(month, 0),
            baseline_counts=[int(counts.get(each, 0)) for each in baseline],
            baseline_exposures=[exposures.get(each, 0) for each in baseline],
        )  # fmt: skip
        if judgement is not None and judgement.signal:
            candidates[dimension][key] = judgement

    for model_id, counts in cases_model.items():
        units = units_model.get(model_id, {})
        consider(TrendDimension.DEVICE_MODEL, model_id, counts.get(month, 0), units,
                 (counts, units))  # fmt: skip
    for (model_id, batch), counts in cases_batch.items():
        # Judged against the model's rate: the question is whether this batch is worse.
        model_units = units_model.get(model_id, {})
        consider(TrendDimension.BATCH, (model_id, batch), counts.get(month, 0),
                 units_batch.get((model_id, batch), {}),
                 (cases_model.get(model_id, {}), model_units))  # fmt: skip
    for code_id, counts in faults.items():
        units = units_line.get(line_of_code.get(code_id), {})
        consider(TrendDimension.FAULT_CODE, code_id, counts.get(month, 0), units,
                 (counts, units))  # fmt: skip

    created: list[TrendSignal] = []
    for dimension, judged in candidates.items():
        for key, facts in _labels(dimension, list(judged)).items():
            judgement = judged[key]
            signal = _signal_raise(dimension=dimension, month=month, judgement=judgement, **facts)
            if signal is not None:
                created.append(signal)
    if created:
        from medservice.quality.services import quality_staff

        notify(
            recipients=quality_staff(), template="trend_signals_raised",
            context={"signals": created, "month": month},
            link=reverse("quality:trend-signals-open"),
        )  # fmt: skip
    return {"signals": len(created)}


def _signal_raise(
    *, dimension: str, month: datetime.date, judgement: Judgement, key: str, label: str,
    **facts: Any,
) -> TrendSignal | None:  # fmt: skip
    """Create the signal unless the same one exists (the job ran before); None then."""
    if TrendSignal.objects.filter(dimension=dimension, key=key, month=month).exists():
        return None
    try:
        with transaction.atomic(), audit_context(job="quality.trend-signals"):
            return TrendSignal.objects.create(
                dimension=dimension, key=key, label=label[:300], month=month,
                observed=judgement.observed, expected=judgement.expected,
                exposure=judgement.exposure, baseline_count=judgement.baseline_count,
                baseline_exposure=judgement.baseline_exposure, p_value=judgement.p_value,
                **facts,
            )  # fmt: skip
    except IntegrityError:
        return None  # a second scheduler raised it at the same moment


# --- Review of a signal -------------------------------------------------------------------------

SIGNAL_TRANSITIONS: dict[str, Transition] = {
    "acknowledge": Transition(
        sources=frozenset({SignalStatus.NEW}), target=SignalStatus.ACKNOWLEDGED,
        permission="quality.review_trendsignal", label=gettext_lazy("Acknowledge"),
    ),
    "open-capa": Transition(
        sources=frozenset(OPEN_SIGNAL_STATUSES), target=SignalStatus.CAPA_OPENED,
        permission="quality.add_capa", label=gettext_lazy("Open a CAPA"), style="primary",
    ),
    "dismiss": Transition(
        sources=frozenset(OPEN_SIGNAL_STATUSES), target=SignalStatus.DISMISSED,
        permission="quality.review_trendsignal", label=gettext_lazy("Dismiss"),
        style="outline-secondary",
    ),
}  # fmt: skip

SIGNAL_CAPA_KINDS = (CapaKind.CORRECTIVE, CapaKind.PREVENTIVE)


def signal_actions_allowed(signal: TrendSignal, user: Any) -> list[tuple[str, Transition]]:
    return actions_allowed(SIGNAL_TRANSITIONS, signal, user)


def _reviewed(actor: Any) -> dict[str, Any]:
    return {"reviewed_at": timezone.now(), "reviewed_by": actor}


def trend_signal_acknowledge(*, actor: Any, signal: TrendSignal) -> TrendSignal:
    """Quality staff have seen the signal and are looking into it."""
    with transaction.atomic():
        return transition(signal, "acknowledge", transitions=SIGNAL_TRANSITIONS, actor=actor,
                          changes=_reviewed(actor))  # fmt: skip


def trend_signal_dismiss(*, actor: Any, signal: TrendSignal, reason: str) -> TrendSignal:
    """The rise is explained and needs no action (e.g. one customer's duplicate complaints)."""
    if not (reason or "").strip():
        raise InvalidInputError(
            _("Say why the signal needs no action."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        return transition(
            signal, "dismiss", transitions=SIGNAL_TRANSITIONS, actor=actor, reason=reason.strip(),
            changes={**_reviewed(actor), "dismiss_reason": reason.strip()[:300]},
        )  # fmt: skip


def _problem_text(signal: TrendSignal) -> str:
    return gettext(
        "Complaints about %(what)s rose in %(month)s: %(observed)s observed against "
        "%(expected)s expected for %(units)s units in use (p = %(p)s)."
    ) % {
        "what": signal.label, "month": signal.month.strftime("%Y-%m"),
        "observed": signal.observed, "expected": f"{signal.expected:.2f}",
        "units": f"{signal.exposure:g}", "p": f"{signal.p_value:.2g}",
    }  # fmt: skip


def trend_signal_open_capa(
    *,
    actor: Any,
    signal: TrendSignal,
    kind: str = CapaKind.CORRECTIVE,
    problem: str = "",
    owner: Any = None,
    due_on: datetime.date | None = None,
) -> TrendSignal:
    """One click: open a corrective or preventive CAPA raised by the signal, and link them."""
    from medservice.quality.capa import capa_open

    if kind not in SIGNAL_CAPA_KINDS:
        raise InvalidInputError(
            _("A trend signal opens a corrective or a preventive CAPA."),
            fields={"kind": [_("Choose corrective or preventive.")]},
        )
    if actor is not None and not actor.has_perm("quality.review_trendsignal"):
        raise PermissionDeniedError(_("You may not act on trend signals."))
    with transaction.atomic():
        locked = transition(signal, "open-capa", transitions=SIGNAL_TRANSITIONS, actor=actor,
                            changes=_reviewed(actor))  # fmt: skip
        capa = capa_open(
            actor=actor, kind=kind, problem=(problem or "").strip() or _problem_text(locked),
            source=locked, source_label=str(locked), owner=owner, due_on=due_on,
        )  # fmt: skip
        locked.capa = capa
        with audit_context(actor=actor, action="open-capa"):
            locked.save(update_fields=["capa"])
    return locked


def trend_signals_visible_to(user: Any) -> QuerySet[TrendSignal]:
    """Trend signals are internal quality records, like the cases they are counted from."""
    from medservice.customers.selectors import user_scope

    if user is None or user_scope(user) != "internal":
        return TrendSignal.objects.none()
    return TrendSignal.objects.all()


def signals_open() -> QuerySet[TrendSignal]:
    """The signals waiting for a decision, most significant first."""
    return TrendSignal.objects.filter(status__in=OPEN_SIGNAL_STATUSES).order_by(
        "-month", "p_value", "-id"
    )
