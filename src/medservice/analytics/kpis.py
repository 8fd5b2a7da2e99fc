"""The KPI registry: one function per KPI, returning the figure and the records behind it.

Every KPI (docs/kpis.md defines each) is a function `KpiFilter -> KpiResult` registered with
`@kpi(...)` in one of the area modules (`kpis_tickets`, `kpis_field`, `kpis_voice`). The
function builds its population once — scoped to the user first, then filtered — and computes
the figure from that same population, so the drill-down (`result.records`) is exactly what was
counted: `records.count() == denominator` (or the number of measured values) and
`result.measures` says, per record, whether it is in the numerator or what was measured.
Dashboards, the KPI page, `GET /api/v1/kpis/` and the evaluation reports all read `KPIS`.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.analytics.choices import Direction, Unit, Verdict
from medservice.customers.selectors import organization_ids_visible_to, user_scope

FILTERS = ("region", "organization", "device_model", "engineer", "team")
# Filters by person and team are for internal users only (docs/kpis.md, "Filters").
INTERNAL_FILTERS = ("engineer", "team")


@dataclass(frozen=True)
class KpiFilter:
    """Whose figures, over which local days (`start` to `end`, both included), and as of when.
    Ids name records the form already checked are in the user's scope."""

    user: Any
    start: datetime.date
    end: datetime.date
    as_of: datetime.datetime | None = None
    region: str = ""
    organization_id: int | None = None
    device_model_id: int | None = None
    engineer_id: int | None = None
    team_id: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def now(self) -> datetime.datetime:
        return self.as_of or timezone.now()

    @property
    def start_at(self) -> datetime.datetime:
        """Local midnight starting the first day."""
        return local_midnight(self.start)

    @property
    def end_at(self) -> datetime.datetime:
        """Local midnight after the last day (exclusive)."""
        return local_midnight(self.end + datetime.timedelta(days=1))

    @property
    def upto(self) -> datetime.datetime:
        """The end of the period, or `as_of` if earlier: a period in progress counts to now."""
        return min(self.end_at, self.now)

    @property
    def internal(self) -> bool:
        return user_scope(self.user) == "internal"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def in_period(self, field_name: str) -> Q:
        """Records whose `field_name` (a datetime) falls in the period (up to `as_of`)."""
        return Q(**{f"{field_name}__gte": self.start_at, f"{field_name}__lt": self.upto})

    def dates_in_period(self, field_name: str) -> Q:
        """Records whose `field_name` (a date) falls in the period."""
        last = min(self.end, timezone.localtime(self.now).date())
        return Q(**{f"{field_name}__gte": self.start, f"{field_name}__lte": last})

    def previous(self) -> KpiFilter:
        """The period just before: the previous month (or quarter, year) when this one is
        whole months, else the same number of days before."""
        months = _whole_months(self.start, self.end)
        if months:
            end = self.start - datetime.timedelta(days=1)
            start = _add_months(self.start, -months)
        else:
            end = self.start - datetime.timedelta(days=1)
            start = end - datetime.timedelta(days=self.days - 1)
        as_of = min(self.now, local_midnight(end + datetime.timedelta(days=1)))
        return replace(self, start=start, end=end, as_of=as_of)


def local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _whole_months(start: datetime.date, end: datetime.date) -> int:
    if start.day != 1 or (end + datetime.timedelta(days=1)).day != 1:
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


@dataclass(frozen=True)
class Column:
    """A column of a KPI's drill-down list: a label and how to read it from a record."""

    label: Any
    read: Callable[[Any], Any]


@dataclass(frozen=True)
class BreakdownRow:
    """One line of a KPI split by a dimension (SLA compliance per promise)."""

    key: str
    label: Any
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None


@dataclass
class KpiResult:
    """A KPI's figure for one filter, and the records it was computed from.

    `value` is what the target is compared with (p90 for times, the rate for ratios, the
    count for stocks); `records` is exactly the population counted; `measures` maps each
    record's pk to what it contributed (hours, or True/False for "in the numerator").
    """

    code: str
    value: Decimal | None
    # None for a stored figure (snapshots.kpi_figures): its records are listed live.
    records: QuerySet | None
    measures: dict[int, Any] = field(default_factory=dict)
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    median: Decimal | None = None
    p90: Decimal | None = None
    mean: Decimal | None = None
    breakdown: list[BreakdownRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provisional_until: datetime.date | None = None
    as_of: datetime.datetime | None = None
    target: Any = None  # the KpiTarget row that applies, set by kpi_compute
    verdict: str | None = None
    # "live" when computed for this request, "snapshot" when read from a KpiSnapshot.
    source: str = "live"
    # When a stored figure was computed (its age); None for a live one.
    stored_at: datetime.datetime | None = None

    @property
    def definition(self) -> KpiDefinition:
        return KPIS[self.code]

    def listing(self) -> QuerySet:
        """The drill-down as the pages, the API and the reports list it: in a stable order,
        with the related records its columns read joined, so a page of it costs the same
        number of queries however many rows it has."""
        records = self.records
        if records is None:
            raise ValueError("A stored figure has no records: compute it to list them.")
        # Only the paths that start on this model: a KPI may list another kind of record for
        # some parameters (service-promise compliance lists quality cases for
        # target=quality_contact, clocks otherwise).
        relations = {field.name for field in records.model._meta.get_fields() if field.is_relation}
        related = [path for path in self.definition.select_related
                   if path.split("__", 1)[0] in relations]  # fmt: skip
        if related:
            records = records.select_related(*related)
        if not records.query.order_by:
            records = records.order_by("pk")
        return records


@dataclass(frozen=True)
class KpiDefinition:
    """A registered KPI: how to compute it and how to show it."""

    code: str
    name: Any
    unit: str
    compute: Callable[[KpiFilter], KpiResult]
    direction: str
    group: str
    order: int
    internal_only: bool = False
    filters: tuple[str, ...] = FILTERS
    # What `value` is (p90, mean, rate, count), shown next to the figure.
    statistic: Any = ""
    measure_label: Any = ""
    columns: tuple[Column, ...] = ()
    select_related: tuple[str, ...] = ()
    # Extra query parameters this KPI understands (sla_compliance: target, priority).
    extra_filters: tuple[str, ...] = ()
    # A narrower rule on who may see it than scope and `internal_only` (survey figures need
    # feedback.view_survey_results): None for everyone with analytics.view_kpis.
    allowed: Callable[[Any], bool] | None = None

    @property
    def group_label(self) -> Any:
        return GROUPS.get(self.group, self.group)

    def get_unit_display(self) -> Any:
        return Unit(self.unit).label if self.unit in Unit.values else self.unit

    def available_to(self, user: Any) -> bool:
        scope = user_scope(user)
        if scope == "none" or not user.has_perm("analytics.view_kpis"):
            return False
        if scope != "internal" and self.internal_only:
            return False
        return self.allowed is None or bool(self.allowed(user))


KPIS: dict[str, KpiDefinition] = {}

# The KPI page's sections, in order (docs/kpis.md's headings).
GROUPS: dict[str, Any] = {
    "service": _("Service requests"),
    "field": _("Field work"),
    "parts": _("Parts and money"),
    "returns": _("Returns, complaints and recalls"),
    "voice": _("Customers' voice"),
    "quality": _("Quality"),
}


def kpi(
    code: str,
    *,
    name: Any,
    unit: str,
    direction: str = Direction.AT_LEAST,
    group: str,
    order: int,
    internal_only: bool = False,
    filters: Iterable[str] = FILTERS,
    statistic: Any = "",
    measure_label: Any = "",
    columns: Iterable[Column] = (),
    select_related: Iterable[str] = (),
    extra_filters: Iterable[str] = (),
    allowed: Callable[[Any], bool] | None = None,
) -> Callable[[Callable[[KpiFilter], KpiResult]], Callable[[KpiFilter], KpiResult]]:
    """Register a KPI function under `code` (the names of docs/kpis.md)."""

    def register(function: Callable[[KpiFilter], KpiResult]) -> Callable[[KpiFilter], KpiResult]:
        KPIS[code] = KpiDefinition(
            code=code, name=name, unit=unit, compute=function, direction=direction,
            group=group, order=order, internal_only=internal_only, filters=tuple(filters),
            statistic=statistic, measure_label=measure_label, columns=tuple(columns),
            select_related=tuple(select_related), extra_filters=tuple(extra_filters),
            allowed=allowed,
        )  # fmt: skip
        return function

    return register


def kpis_for(user: Any) -> list[KpiDefinition]:
    """The KPIs this user may see, by section and order."""
    sections = list(GROUPS)
    return sorted(
        (definition for definition in KPIS.values() if definition.available_to(user)),
        key=lambda definition: (
            sections.index(definition.group) if definition.group in sections else len(sections),
            definition.order, definition.code,
        ),
    )  # fmt: skip


def kpi_compute(code: str, kpi_filter: KpiFilter) -> KpiResult:
    """Compute one KPI and compare it with the target that applies."""
    from medservice.analytics.selectors import target_for

    definition = KPIS[code]
    if not definition.available_to(kpi_filter.user):
        # The caller checks first; a figure must never leak through a forgotten check.
        raise PermissionError(code)
    result = definition.compute(kpi_filter)
    result.as_of = result.as_of or kpi_filter.now
    result.target = target_for(code, kpi_filter)
    result.verdict = verdict(result.value, result.target)
    return result


def verdict(value: Decimal | None, target: Any) -> str | None:
    if value is None or target is None:
        return None
    band = target.amber_band or Decimal(0)
    if target.direction == Direction.AT_MOST:
        if value <= target.value:
            return Verdict.MET
        return Verdict.AMBER if value <= target.value + band else Verdict.MISSED
    if value >= target.value:
        return Verdict.MET
    return Verdict.AMBER if value >= target.value - band else Verdict.MISSED


# --- helpers every KPI module uses ------------------------------------------------------------

HUNDRED = Decimal(100)
SECONDS_PER_HOUR = Decimal(3600)


def nearest_rank(values: Iterable[Decimal], fraction: Decimal | float | str) -> Decimal | None:
    """The ⌈p·n⌉-th smallest value (1-based): PostgreSQL's percentile_disc. None for none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(Decimal(str(fraction)) * len(ordered)))
    return ordered[rank - 1]


def mean(values: Iterable[Decimal]) -> Decimal | None:
    values = list(values)
    if not values:
        return None
    return round2(sum(values, Decimal(0)) / len(values))


def round1(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def round2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def hours_between(start: datetime.datetime, end: datetime.datetime) -> Decimal:
    """Calendar hours from start to end, to 0.01 h."""
    return round2(Decimal((end - start).total_seconds()) / SECONDS_PER_HOUR)


def percent(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """100 × numerator / denominator to 0.1, half up; None when there is nothing to divide."""
    if not denominator:
        return None
    return round1(HUNDRED * Decimal(numerator) / Decimal(denominator))


def distribution(
    code: str, records: QuerySet, measures: dict[int, Decimal], **extra: Any
) -> KpiResult:
    """A time KPI: median and p90 of the measured hours; the value is the p90."""
    values = list(measures.values())
    p90 = nearest_rank(values, "0.9")
    return KpiResult(
        code=code, value=p90, records=records, measures=measures,
        denominator=Decimal(len(values)), median=nearest_rank(values, "0.5"), p90=p90,
        mean=mean(values), **extra,
    )  # fmt: skip


def rate(code: str, records: QuerySet, flags: dict[int, bool], **extra: Any) -> KpiResult:
    """A ratio KPI: the share of records flagged True, in percent."""
    numerator = sum(1 for flag in flags.values() if flag)
    return KpiResult(
        code=code, value=percent(numerator, len(flags)), records=records, measures=flags,
        numerator=Decimal(numerator), denominator=Decimal(len(flags)), **extra,
    )  # fmt: skip


def scoped(
    queryset: QuerySet,
    kpi_filter: KpiFilter,
    *,
    organization: str | None = "organization",
    region: str | None = "organization__region",
    device_model: Iterable[str] | str | None = None,
    engineer: str | None = None,
    team: str | None = None,
) -> QuerySet:
    """Limit `queryset` to the user's scope, then apply the filters that map onto it.

    Each argument names the field path the filter reads on this model (None: the filter does
    not apply). `device_model` may give several paths, tried in order (the device's model,
    else the record's own): a record matches on the first path that is set.
    """
    if organization:
        ids = organization_ids_visible_to(kpi_filter.user)
        if ids is not None:
            queryset = queryset.filter(**{f"{organization}__in": ids})
        if kpi_filter.organization_id:
            queryset = queryset.filter(
                Q(**{organization: kpi_filter.organization_id})
                | Q(**{f"{organization}__parent": kpi_filter.organization_id})
            )
    if region and kpi_filter.region:
        queryset = queryset.filter(**{region: kpi_filter.region})
    if device_model and kpi_filter.device_model_id:
        paths = [device_model] if isinstance(device_model, str) else list(device_model)
        condition = Q()
        earlier_unset: dict[str, Any] = {}
        for path in paths:
            condition |= Q(**earlier_unset, **{path: kpi_filter.device_model_id})
            earlier_unset[f"{path}__isnull"] = True
        queryset = queryset.filter(condition)
    if engineer and kpi_filter.engineer_id:
        queryset = queryset.filter(**{engineer: kpi_filter.engineer_id})
    if team and kpi_filter.team_id:
        queryset = queryset.filter(**{team: kpi_filter.team_id})
    return queryset


def by_pk(records: QuerySet, measure: Callable[[Model], Any]) -> dict[int, Any]:
    """Evaluate `measure` for every record of the population.

    A month holds tens of thousands of records, and building each as a model instance (with
    its dozen timestamps parsed and its encrypted personal fields decrypted) costs ten times
    the query. So the rows are read as light rows, as narrow as the measure allows: first the
    queryset's annotations only, then every plain column (foreign keys as `<name>_id`, no
    encrypted fields), and only if the measure reads more (a related record) full instances —
    select what it reads on `records`."""
    for narrow in (True, False):
        try:
            return {row.pk: measure(row) for row in light_rows(records, narrow=narrow)}
        except AttributeError:
            continue
    return {record.pk: measure(record) for record in records}


def light_rows(records: QuerySet, *, narrow: bool) -> list[SimpleNamespace]:
    from medservice.core.crypto import EncryptedTextField

    model = records.model
    key = model._meta.pk.attname
    if narrow:
        names = [key, *records.query.annotations]
    else:
        names = [
            field.attname for field in model._meta.concrete_fields
            if not isinstance(field, EncryptedTextField)
        ] + list(records.query.annotations)  # fmt: skip
    rows = []
    for values in records.values(*names):
        values["pk"] = values[key]
        rows.append(SimpleNamespace(**values))
    return rows
