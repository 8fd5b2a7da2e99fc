"""Adverse-event reports (可疑医疗器械不良事件报告) and their legal clocks.

A report is opened from a quality case decided as a reportable adverse event (once per case and
market), or directly with a device (a regulator's enquiry). Its due time comes from the
reporting rule of its market and trigger (REGULATORY.md CN-AE-1..4, US-MDR-1..3, EU-V-1..3,
kept as data in ReportingRule), counted from the awareness time by core.clock, and is stored.
A sweep warns at 75% of the period and 24 hours before, and escalates a breach to the quality
manager and the administrators, once each. A submitted report is frozen; later news goes into
follow-up reports and a final report linked to the initial one. After a China death or
serious-injury report the evaluation result (the final report) has its own clock (CN-AE-5),
started when the initial report is submitted and stopped when the final report is.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core import clock
from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import Transition, transition
from medservice.integrations.choices import EventType
from medservice.integrations.services import event_publish, isoformat
from medservice.quality.choices import (
    ClockUnit,
    DeviceOrigin,
    EventOutcome,
    Market,
    ReportKind,
    ReportStatus,
    ReportTrigger,
    SubmissionChannel,
)
from medservice.quality.models import AdverseEventReport, QualityCase, ReportingRule

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
DAY = datetime.timedelta(hours=24)


# --- Reporting rules (REGULATORY.md) ---------------------------------------------------------


@dataclass(frozen=True)
class RuleDefault:
    code: str
    market: str
    trigger: str
    amount: int
    unit: str
    calendar_code: str
    description: str


# The defaults the data migration seeds; afterwards the rules are data, corrected by people.
DEFAULT_RULES = (
    RuleDefault("CN-AE-1", "CN", "death", 7, "calendar_days", "",
                "死亡事件：自发现或者获知之日起7日内报告"),
    RuleDefault("CN-AE-2", "CN", "serious_injury", 20, "calendar_days", "",
                "严重伤害或可能导致死亡、严重伤害的事件：20日内报告"),
    RuleDefault("CN-AE-3", "CN", "abroad", 30, "calendar_days", "",
                "境外发生的不良事件（注册人/备案人）：30日内报告"),
    RuleDefault("CN-AE-4", "CN", "group_event", 12, "hours", "",
                "群体不良事件：12小时内通过电话或者传真报告所在地省级药监部门和卫生主管部门"),
    RuleDefault("CN-AE-4-case", "CN", "group_event_case", 24, "hours", "",
                "群体不良事件的每一病例：24小时内逐一报告"),
    # CN-AE-5 (unverified in REGULATORY.md): counted from the submission of the initial report,
    # not from awareness. The holder "在报告医疗器械不良事件后……开展后续调查、分析和评价" and
    # reports the result within 30 / 45 days: the evaluation follows the report, and 30 days
    # from awareness would leave a death's evaluation only 23 days after a report sent on day 7.
    RuleDefault("CN-AE-5-death", "CN", "death_evaluation", 30, "calendar_days", "",
                "死亡事件的评价结果（最终报告）：首次报告后30日内报告"),
    RuleDefault("CN-AE-5-serious", "CN", "serious_injury_evaluation", 45, "calendar_days", "",
                "严重伤害事件的评价结果（最终报告）：首次报告后45日内报告"),
    RuleDefault("US-MDR-1", "US", "manufacturer", 30, "calendar_days", "",
                "21 CFR 803: manufacturer report within 30 calendar days of awareness"),
    RuleDefault("US-MDR-2", "US", "remedial_action", 5, "working_days", "US",
                "21 CFR 803: remedial action needed, or FDA asks: 5 work days"),
    RuleDefault("US-MDR-3", "US", "user_facility", 10, "working_days", "US",
                "21 CFR 803: user facility or importer: 10 work days"),
    RuleDefault("EU-V-1", "EU", "public_health_threat", 2, "calendar_days", "",
                "EU MDR art. 87: serious public-health threat: 2 days"),
    RuleDefault("EU-V-2", "EU", "death_or_deterioration", 10, "calendar_days", "",
                "EU MDR art. 87: death or unanticipated serious deterioration of health: 10 days"),
    RuleDefault("EU-V-3", "EU", "other_serious_incident", 15, "calendar_days", "",
                "EU MDR art. 87: other serious incident: 15 days"),
)  # fmt: skip

MARKET_TRIGGERS: dict[str, frozenset[str]] = {
    Market.CN: frozenset(
        {
            ReportTrigger.DEATH,
            ReportTrigger.SERIOUS_INJURY,
            ReportTrigger.ABROAD,
            ReportTrigger.GROUP_EVENT,
            ReportTrigger.GROUP_EVENT_CASE,
            ReportTrigger.DEATH_EVALUATION,
            ReportTrigger.SERIOUS_INJURY_EVALUATION,
        }
    ),
    Market.US: frozenset(
        {ReportTrigger.MANUFACTURER, ReportTrigger.REMEDIAL_ACTION, ReportTrigger.USER_FACILITY}
    ),
    Market.EU: frozenset(
        {
            ReportTrigger.PUBLIC_HEALTH_THREAT,
            ReportTrigger.DEATH_OR_DETERIORATION,
            ReportTrigger.OTHER_SERIOUS_INCIDENT,
        }
    ),
}

# The evaluation result's trigger (CN-AE-5) after an initial report of each trigger. Only death
# and serious injury (CN-AE-2 includes "may lead to death or serious injury"); events abroad and
# group events have their own duties (CN-AE-3, the group's 7-day investigation).
FINAL_TRIGGER_AFTER: dict[str, str] = {
    ReportTrigger.DEATH: ReportTrigger.DEATH_EVALUATION,
    ReportTrigger.SERIOUS_INJURY: ReportTrigger.SERIOUS_INJURY_EVALUATION,
}
# Triggers that start a clock of their own at the report's awareness time: all but the
# evaluation results, which follow a submitted initial report.
EVALUATION_TRIGGERS = frozenset(FINAL_TRIGGER_AFTER.values())

# Calendars a working-day rule may name without an administrator creating them first: the
# holidays library's country and the zone its work days are counted in.
KNOWN_CALENDAR_ZONES = {"US": "America/New_York"}


def reporting_rules_seed(apps: Any = None) -> int:
    """Create the default rules that are missing (by code); existing rules, possibly corrected
    by the quality manager, are left alone. Called by the data migration with its `apps`."""
    model = apps.get_model("quality", "ReportingRule") if apps is not None else ReportingRule
    created = 0
    for rule in DEFAULT_RULES:
        if model.objects.filter(code=rule.code).exists():
            continue
        # The migration's historical model is not audited; the seed is part of the schema.
        model.objects.create(
            code=rule.code, market=rule.market, trigger=rule.trigger, amount=rule.amount,
            unit=rule.unit, calendar_code=rule.calendar_code, description=rule.description,
        )  # fmt: skip
        created += 1
    return created


def regulatory_role() -> str:
    """The company's regulatory role: one setting, read in one place (decisions)."""
    from medservice.quality.decisions import regulatory_role as role_setting

    return role_setting()


def trigger_default(*, market: str, outcome: str, group_event: bool, event_abroad: bool) -> str:
    """The trigger a report's facts point to; quality staff may choose a stricter one
    (remedial action, public-health threat)."""
    if market == Market.US:
        # US-MDR-3 binds user facilities and importers (an agent of a foreign registrant
        # imports), US-MDR-1 manufacturers.
        if regulatory_role() in {"agent", "distributor", "user"}:
            return ReportTrigger.USER_FACILITY
        return ReportTrigger.MANUFACTURER
    if market == Market.EU:
        if outcome == EventOutcome.OTHER:
            return ReportTrigger.OTHER_SERIOUS_INCIDENT
        return ReportTrigger.DEATH_OR_DETERIORATION
    if group_event:
        return ReportTrigger.GROUP_EVENT
    if event_abroad:
        return ReportTrigger.ABROAD
    if outcome == EventOutcome.DEATH:
        return ReportTrigger.DEATH
    return ReportTrigger.SERIOUS_INJURY


def rule_for(market: str, trigger: str) -> ReportingRule | None:
    return ReportingRule.objects.filter(market=market, trigger=trigger, active=True).first()


def warn_fraction() -> float:
    return float(getattr(settings, "QUALITY_AE_WARN_FRACTION", 0.75))


def _calendar(code: str) -> clock.Calendar:
    """The business calendar named by a working-day rule, created from the holidays library
    the first time a known market's calendar (US) is needed."""
    from medservice.core.calendar_models import BusinessCalendar
    from medservice.core.calendars import (
        DEFAULT_CALENDAR_CODE,
        calendar_default_ensure,
        calendar_load,
        calendar_seed,
    )
    from medservice.core.choices import CalendarSource

    if code == DEFAULT_CALENDAR_CODE:
        calendar_default_ensure()
    elif not BusinessCalendar.objects.filter(code=code).exists() and code in KNOWN_CALENDAR_ZONES:
        with audit_context(job="quality"):
            calendar, created = BusinessCalendar.objects.get_or_create(
                code=code,
                defaults={
                    "name": code, "source": CalendarSource.HOLIDAYS, "country": code,
                    "time_zone": KNOWN_CALENDAR_ZONES[code],
                },
            )  # fmt: skip
            if created:
                calendar_seed(calendar=calendar)
    return calendar_load(code)


@dataclass(frozen=True)
class DueTimes:
    due: datetime.datetime
    warn: datetime.datetime
    day_before: datetime.datetime | None
    unconfirmed_years: frozenset[int]


def due_compute(rule: ReportingRule, awareness_at: datetime.datetime) -> DueTimes:
    """When a report under `rule` is due, counted from `awareness_at` (for CN-AE-5 the initial
    report's submission): hours are elapsed hours;
    calendar days the same wall-clock time so many dates later (holidays do not matter: a death
    report whose 7th day is in the National Day holiday is due that day); working days the
    same wall-clock time in the calendar's own zone on the so-many-th working day after."""
    if rule.unit == ClockUnit.HOURS:
        due = clock.add_calendar_hours(awareness_at, rule.amount)
        unconfirmed: frozenset[int] = frozenset()
    elif rule.unit == ClockUnit.CALENDAR_DAYS:
        due = clock.add_calendar_days(awareness_at, rule.amount, settings.TIME_ZONE)
        unconfirmed = frozenset()
    else:
        calendar = _calendar(rule.calendar_code)
        local = awareness_at.astimezone(calendar.zone)
        day = clock.add_working_days(local.date(), rule.amount, calendar)
        due = datetime.datetime.combine(day, local.time(), tzinfo=calendar.zone).astimezone(
            datetime.UTC
        )
        unconfirmed = calendar.unconfirmed_years_between(awareness_at, due)
        if unconfirmed:
            from medservice.core.calendars import calendar_unconfirmed_used

            calendar_unconfirmed_used(rule.calendar_code, sorted(unconfirmed))
    period = due - awareness_at
    return DueTimes(
        due=due,
        warn=awareness_at + period * warn_fraction(),
        # A warning 24 hours before a period of a day or less would come with the report.
        day_before=due - DAY if period > DAY else None,
        unconfirmed_years=unconfirmed,
    )


def _clock_set(report: AdverseEventReport) -> None:
    """Store the due time and the warning points from the report's rule (a new clock: the
    warnings of the old one no longer apply)."""
    if report.rule is None:
        return
    times = due_compute(report.rule, report.awareness_at)
    report.report_due_at = times.due
    report.warn_at = times.warn
    report.warn_day_before_at = times.day_before
    report.due_unconfirmed = bool(times.unconfirmed_years)
    report.warned_at = report.warned_day_before_at = report.breached_at = None


def reporting_rule_create(
    *, actor: Any, model: type[ReportingRule] = ReportingRule, data: dict[str, Any]
) -> ReportingRule:
    """A new rule (a market or trigger the defaults do not cover)."""
    _require(actor, "quality.add_reportingrule", _("You may not change reporting rules."))
    rule = ReportingRule(**data)
    _rule_check(rule)
    with transaction.atomic(), audit_context(actor=actor):
        rule.save()
    return rule


def reporting_rule_update(
    *,
    actor: Any,
    instance: ReportingRule,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ReportingRule:
    """Correct a rule. Reports already open keep the due time they were given (stored, and
    the legal duty does not change after the fact); new reports use the corrected rule."""
    from medservice.core.services import record_update

    _require(actor, "quality.change_reportingrule", _("You may not change reporting rules."))
    probe = ReportingRule(pk=instance.pk, **{**_rule_values(instance), **data})
    _rule_check(probe)
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


def _rule_values(rule: ReportingRule) -> dict[str, Any]:
    return {
        name: getattr(rule, name)
        for name in ("code", "market", "trigger", "amount", "unit", "calendar_code",
                     "description", "active")
    }  # fmt: skip


def _rule_check(rule: ReportingRule) -> None:
    from medservice.core.calendar_models import BusinessCalendar

    problems = Problems()
    if rule.trigger not in MARKET_TRIGGERS.get(rule.market, frozenset()):
        problems.add("trigger", _("This trigger does not belong to the market's law."))
    if not rule.amount or rule.amount <= 0:
        problems.add("amount", _("Give a period longer than zero."))
    if rule.unit == ClockUnit.WORKING_DAYS:
        code = (rule.calendar_code or "").strip()
        known = BusinessCalendar.objects.filter(code=code).exists() or code in KNOWN_CALENDAR_ZONES
        if not known:
            problems.add(
                "calendar_code", _("Working days need an existing business calendar (its code).")
            )
    elif rule.calendar_code:
        problems.add("calendar_code", _("Only working days are counted on a business calendar."))
    if (
        rule.active
        and ReportingRule.objects.filter(market=rule.market, trigger=rule.trigger, active=True)
        .exclude(pk=rule.pk)
        .exists()
    ):
        problems.add("trigger", _("Another rule in force already covers this market and trigger."))
    problems.raise_if_any(_("The reporting rule was not saved."))


# --- Workflow ---------------------------------------------------------------------------------


def _chain_open(report: AdverseEventReport, user: Any) -> str:
    """A follow-up or final report continues a submitted chain that has no final report yet
    and no draft waiting to be submitted."""
    initial = report.initial or report
    chain = AdverseEventReport.objects.filter(Q(pk=initial.pk) | Q(initial=initial))
    if chain.filter(kind=ReportKind.FINAL).exists():
        return _("The final report of %(number)s has been written: nothing follows it.") % {
            "number": initial.number
        }
    draft = chain.filter(status=ReportStatus.DRAFT).first()
    if draft is not None:
        return _("%(number)s is still a draft: submit it first.") % {"number": draft.number}
    return ""


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        sources=frozenset({ReportStatus.DRAFT}),
        target=ReportStatus.SUBMITTED,
        permission="quality.submit_adverseeventreport",
        label=gettext_lazy("Record the submission"),
        style="primary",
    ),
    "follow-up": Transition(
        sources=frozenset({ReportStatus.SUBMITTED}),
        target=None,
        permission="quality.add_adverseeventreport",
        label=gettext_lazy("Write a follow-up report"),
        guard=_chain_open,
    ),
    "final": Transition(
        sources=frozenset({ReportStatus.SUBMITTED}),
        target=None,
        permission="quality.add_adverseeventreport",
        label=gettext_lazy("Write the final report"),
        guard=_chain_open,
    ),
}


# --- Opening a report ---------------------------------------------------------------------------


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _company() -> Any:
    from medservice.customers.choices import OrganizationKind
    from medservice.customers.models import Organization

    return (
        Organization.objects.filter(kind=OrganizationKind.COMPANY, parent__isnull=True)
        .order_by("pk")
        .first()
    )


def report_prefill(
    *, case: QualityCase | None = None, device: Any = None, actor: Any = None
) -> dict[str, Any]:
    """The form's fields as far as the case, the device and the company know them."""
    device = device or (case.device if case is not None and case.device_id else None)
    model = device.device_model if device is not None else (case.device_model if case else None)
    fields: dict[str, Any] = {"device": device, "device_model": model}
    company = _company()
    if company is not None:
        fields.update(
            reporter_unit=company.name, reporter_address=company.address,
            reporter_phone=company.phone[:50],
        )  # fmt: skip
    if actor is not None:
        fields["reporter_contact"] = actor.get_full_name() or actor.get_username()
    if model is not None:
        manufacturer_country = model.manufacturer.country if model.manufacturer_id else ""
        fields.update(
            device_name=model.name, registration_number=model.registration_number,
            model_spec=model.model_spec, product_type=model.product_type,
            risk_class=model.risk_class,
            origin=DeviceOrigin.DOMESTIC if manufacturer_country in ("", "中国", "China", "CN")
            else DeviceOrigin.IMPORTED,
        )  # fmt: skip
    if device is not None:
        fields.update(
            organization=device.organization, batch_number=device.batch_number,
            serial_number=device.serial_number,
            udi=" ".join(part for part in (model.udi_di if model else "", device.udi_pi) if part),
            production_date=device.production_date, expiry_date=device.expiry_date,
        )  # fmt: skip
    if case is not None:
        fields.update(
            quality_case=case, awareness_at=case.awareness_at,
            organization=case.organization or fields.get("organization"),
            batch_number=case.batch_number or fields.get("batch_number", ""),
            serial_number=case.serial_number or fields.get("serial_number", ""),
            event_date=timezone.localdate(case.awareness_at),
            harm_description=case.symptoms,
            malfunction_description=case.description,
        )  # fmt: skip
        if not fields.get("device_name"):
            fields["device_name"] = case.product_reported
    return fields


REPORT_FIELDS = (
    "quality_case", "market", "outcome", "group_event", "trigger", "awareness_at",
    "reporter_unit", "reporter_address", "reporter_contact", "reporter_phone", "event_abroad",
    "organization", "device", "device_model", "device_name", "registration_number", "model_spec",
    "product_type", "origin", "risk_class", "batch_number", "serial_number", "udi",
    "production_date", "expiry_date", "event_date", "harm_description", "patient_name",
    "patient_age", "patient_sex", "patient_record_number", "patient_history",
    "malfunction_description", "intended_use", "place_of_use", "usage_description",
    "concomitant_products", "onsite_investigation", "product_tested", "test_report",
    "cause_conclusion", "relatedness", "risk_evaluation", "control_measures",
    "no_measures_reason",
)  # fmt: skip
# What a follow-up or final report carries over from the report before it.
CONTENT_FIELDS = tuple(name for name in REPORT_FIELDS if name != "trigger")


def _check(report: AdverseEventReport, problems: Problems) -> None:
    if report.market not in Market.values:
        problems.add("market", _("Choose the market: CN, US or EU."))
    if report.outcome not in EventOutcome.values:
        problems.add("outcome", _("Choose the harm: death, serious injury or other."))
    if report.device_id is None and report.quality_case_id is None and not report.device_name:
        problems.add("device", _("Name the device the event is about."))
    if report.awareness_at is None:
        problems.add("awareness_at", _("Give the time the company became aware of the event."))
    elif report.awareness_at > timezone.now() + FUTURE_TOLERANCE:
        problems.add("awareness_at", _("The company cannot become aware in the future."))
    if (
        report.event_date
        and report.awareness_at
        and report.event_date > timezone.localdate(report.awareness_at)
    ):
        problems.add("event_date", _("The event cannot happen after the company learnt of it."))
    if report.patient_age is not None and report.patient_age > 150:
        problems.add("patient_age", _("Give an age between 0 and 150."))
    if report.kind == ReportKind.INITIAL and report.market in Market.values:
        if report.trigger not in MARKET_TRIGGERS[report.market]:
            problems.add("trigger", _("This trigger does not belong to the market's law."))
        elif report.trigger in EVALUATION_TRIGGERS:
            problems.add(
                "trigger",
                _("The evaluation result follows a submitted report: write it as the final "
                  "report."),
            )  # fmt: skip
        elif rule_for(report.market, report.trigger) is None:
            problems.add(
                "trigger",
                _("No reporting rule is in force for %(market)s and this trigger.")
                % {"market": report.market},
            )


def _new(actor: Any, fields: dict[str, Any], *, kind: str = ReportKind.INITIAL) -> Any:
    report = AdverseEventReport(kind=kind, **fields)
    if kind == ReportKind.INITIAL and not report.trigger:
        report.trigger = trigger_default(
            market=report.market, outcome=report.outcome, group_event=report.group_event,
            event_abroad=report.event_abroad,
        )  # fmt: skip
    return report


def report_create(
    *,
    actor: Any,
    model: type[AdverseEventReport] = AdverseEventReport,
    data: dict[str, Any],
) -> AdverseEventReport:
    """Open an initial report, from a case (prefilled from it) or directly with a device (a
    regulator's enquiry, an event heard of abroad). The due time is computed and stored."""
    _require(actor, "quality.add_adverseeventreport",
             _("You may not write adverse-event reports."))  # fmt: skip
    data = {name: value for name, value in data.items() if name in REPORT_FIELDS}
    case = data.get("quality_case")
    prefill = report_prefill(case=case, device=data.get("device"), actor=actor)
    fields = {**prefill, **{name: value for name, value in data.items() if value not in (None, "")}}
    fields.setdefault("group_event", False)
    report = _new(actor, fields)
    problems = Problems()
    _check(report, problems)
    problems.raise_if_any(_("The adverse-event report was not opened."))
    with transaction.atomic(), audit_context(actor=actor):
        report.rule = rule_for(report.market, report.trigger)
        report.number = number_next(prefix="AE")
        _clock_set(report)
        report.save()
    return report


def report_open_from_case(*, actor: Any, case: Any, market: str, outcome: str) -> Any:
    """Open the adverse-event report of a case decided as a reportable adverse event, for one
    market ("CN", "US", "EU") and outcome ("death", "serious_injury", "other"), prefilled from
    the case, its device and organisation. Returns the AdverseEventReport. Once per case and
    market: a second call returns the report already open."""
    existing = _initial_of(case, market)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return report_create(
                actor=actor, data={"quality_case": case, "market": market, "outcome": outcome}
            )
    except IntegrityError:
        # Decided twice at once: the other decision opened it.
        return _initial_of(case, market)


def _initial_of(case: Any, market: str) -> AdverseEventReport | None:
    return AdverseEventReport.objects.filter(
        quality_case=case, market=market, kind=ReportKind.INITIAL, group__isnull=True
    ).first()


def report_add_group_case(
    *, actor: Any, report: AdverseEventReport, data: dict[str, Any]
) -> AdverseEventReport:
    """One patient's case of a group event (CN-AE-4): its own report, due within 24 hours,
    beside the group's 12-hour report."""
    _require(actor, "quality.add_adverseeventreport",
             _("You may not write adverse-event reports."))  # fmt: skip
    if not report.group_event or report.kind != ReportKind.INITIAL or report.group_id:
        raise InvalidTransitionError(
            _("%(number)s is not the report of a group event.") % {"number": report.number}
        )
    # The device, the unit and the event come from the group's report; the patient is this
    # case's own (never another patient's data copied over).
    fields = {name: getattr(report, name) for name in CONTENT_FIELDS
              if not name.startswith("patient_")}  # fmt: skip
    fields.update({name: value for name, value in data.items()
                   if name in REPORT_FIELDS and value not in (None, "")})  # fmt: skip
    fields["trigger"] = ReportTrigger.GROUP_EVENT_CASE
    case_report = _new(actor, fields)
    case_report.group = report
    problems = Problems()
    _check(case_report, problems)
    problems.raise_if_any(_("The case of the group event was not reported."))
    with transaction.atomic(), audit_context(actor=actor):
        case_report.rule = rule_for(case_report.market, case_report.trigger)
        case_report.number = number_next(prefix="AE")
        _clock_set(case_report)
        case_report.save()
    return case_report


def _locked(report: AdverseEventReport) -> AdverseEventReport:
    return AdverseEventReport.objects.select_for_update().get(pk=report.pk)


def _refuse_frozen(report: AdverseEventReport) -> None:
    if report.is_frozen:
        raise InvalidTransitionError(
            _("%(number)s has been submitted and is frozen: correct it with a follow-up report.")
            % {"number": report.number}
        )


def report_update(
    *,
    actor: Any,
    instance: AdverseEventReport,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> AdverseEventReport:
    """Complete or correct a draft. A change of market, harm, trigger or awareness time
    recomputes the due time (audited); a submitted report is refused (409)."""
    from medservice.core.errors import ConflictError

    _require(actor, "quality.change_adverseeventreport",
             _("You may not change adverse-event reports."))  # fmt: skip
    with transaction.atomic():
        report = _locked(instance)
        _refuse_frozen(report)
        if expected_version is not None and int(expected_version) != report.version:
            raise ConflictError(_("Someone else changed this report; reload it and try again."))
        clock_before = (report.market, report.trigger, report.awareness_at)
        outcome_before = (report.outcome, report.group_event, report.event_abroad)
        for name, value in data.items():
            # An empty trigger keeps the one the facts point to (recomputed below).
            if name in REPORT_FIELDS and name != "quality_case" and (name != "trigger" or value):
                setattr(report, name, value)
        if report.kind == ReportKind.INITIAL and report.group_id is None and (
            "trigger" not in data or not data["trigger"]
        ) and (
            outcome_before != (report.outcome, report.group_event, report.event_abroad)
            or report.market != clock_before[0]
        ):  # fmt: skip
            report.trigger = trigger_default(
                market=report.market, outcome=report.outcome, group_event=report.group_event,
                event_abroad=report.event_abroad,
            )  # fmt: skip
        problems = Problems()
        _check(report, problems)
        problems.raise_if_any(_("The adverse-event report was not saved."))
        if report.kind == ReportKind.INITIAL and clock_before != (
            report.market, report.trigger, report.awareness_at
        ):  # fmt: skip
            report.rule = rule_for(report.market, report.trigger)
            _clock_set(report)
        with audit_context(actor=actor):
            report.save()
    return report


def reports_awareness_moved(*, actor: Any, case: QualityCase, reason: str) -> list[Any]:
    """The case's awareness time moved (earlier, with a reason): every report of it not yet
    submitted takes the new time and its due time is recomputed, audited with the reason.
    Called from `case_move_awareness`, inside its transaction."""
    moved = []
    for report in (
        AdverseEventReport.objects.select_for_update()
        .filter(quality_case=case, status=ReportStatus.DRAFT)
        .order_by("pk")
    ):
        if report.awareness_at == case.awareness_at:
            continue
        report.awareness_at = case.awareness_at
        if report.kind == ReportKind.INITIAL:
            _clock_set(report)
        with audit_context(actor=actor, reason=reason or None):
            report.save()
        moved.append(report)
    return moved


def report_submit(
    *,
    actor: Any,
    report: AdverseEventReport,
    channel: str,
    reference: str = "",
    submitted_at: datetime.datetime | None = None,
) -> AdverseEventReport:
    """Record that the report went to the regulator: when, how, under which reference, by
    whom. The report is frozen from now on; the clock stops (late if after the due time)."""
    submitted_at = submitted_at or timezone.now()
    problems = Problems()
    if channel not in SubmissionChannel.values:
        problems.add("channel", _("Choose how the report was submitted."))
    if submitted_at > timezone.now() + FUTURE_TOLERANCE:
        problems.add("submitted_at", _("The submission cannot be in the future."))
    elif submitted_at < report.awareness_at:
        problems.add("submitted_at", _("The report cannot be submitted before the awareness time."))
    problems.raise_if_any(_("The submission was not recorded."))
    with transaction.atomic():
        # Locked first so the evaluation clock is computed from the trigger that is submitted.
        locked = _locked(report)
        changes = {
            "submitted_at": submitted_at, "submission_channel": channel,
            "submission_reference": (reference or "").strip()[:100], "submitted_by": actor,
        }  # fmt: skip
        if locked.kind == ReportKind.INITIAL and locked.status == ReportStatus.DRAFT:
            changes.update(_final_clock(locked, submitted_at))
        submitted = transition(locked, "submit", transitions=TRANSITIONS, actor=actor,
                               changes=changes)  # fmt: skip
        if submitted.kind == ReportKind.FINAL:
            _final_clock_stop(submitted, actor)
        return submitted


def _final_clock(report: AdverseEventReport, submitted_at: datetime.datetime) -> dict[str, Any]:
    """The evaluation result's clock (CN-AE-5) a submitted initial report starts: the rule in
    force for its market and the trigger that follows its own, counted from the submission
    (the evaluation follows the report; see DEFAULT_RULES). Nothing for other reports."""
    trigger = FINAL_TRIGGER_AFTER.get(report.trigger)
    rule = rule_for(report.market, trigger) if trigger and report.group_id is None else None
    if rule is None:
        return {}
    times = due_compute(rule, submitted_at)
    return {
        "final_rule": rule, "final_due_at": times.due, "final_warn_at": times.warn,
        "final_warn_day_before_at": times.day_before, "final_warned_at": None,
        "final_warned_day_before_at": None, "final_breached_at": None,
    }  # fmt: skip


def _final_clock_stop(final: AdverseEventReport, actor: Any) -> None:
    """The final report went out: the chain's evaluation clock stops at its submission time
    (kept on the initial report, audited there)."""
    initial = _locked(final.initial)
    if initial.final_submitted_at is not None:
        return
    initial.final_submitted_at = final.submitted_at
    with audit_context(actor=actor, action="final-submitted"):
        initial.save()


def report_continue(*, actor: Any, report: AdverseEventReport, kind: str) -> AdverseEventReport:
    """Open a follow-up or the final report of a submitted report's chain, as a draft carrying
    the latest submitted content, linked to the initial report."""
    action = {ReportKind.FOLLOW_UP: "follow-up", ReportKind.FINAL: "final"}.get(kind)
    if action is None:
        message = _("Choose a follow-up or a final report.")
        raise InvalidInputError(message, fields={"kind": [message]})
    with transaction.atomic():
        # Locks the report so two people do not open two finals at once.
        report = transition(report, action, transitions=TRANSITIONS, actor=actor)
        initial = report.initial or report
        latest = (
            AdverseEventReport.objects.filter(Q(pk=initial.pk) | Q(initial=initial))
            .order_by("-pk")
            .first()
        )
        fields = {name: getattr(latest, name) for name in CONTENT_FIELDS}
        continuation = AdverseEventReport(
            kind=kind, initial=initial, trigger=initial.trigger, rule=None, **fields
        )
        with audit_context(actor=actor, action=action):
            continuation.number = number_next(prefix="AE")
            continuation.save()
    return continuation


def report_chain(report: AdverseEventReport) -> list[AdverseEventReport]:
    initial = report.initial or report
    return list(
        AdverseEventReport.objects.filter(Q(pk=initial.pk) | Q(initial=initial)).order_by("pk")
    )


def reports_recompute_for_calendar(*, calendar_code: str) -> int:
    """A business calendar was corrected or a year's holidays were published: every report
    not yet submitted whose rule counts working days on it gets its due time recomputed
    (audited). Returns how many moved."""
    moved = 0
    with transaction.atomic():
        for report in (
            AdverseEventReport.objects.select_for_update()
            .filter(
                submitted_at__isnull=True,
                kind=ReportKind.INITIAL,
                rule__unit=ClockUnit.WORKING_DAYS,
                rule__calendar_code=calendar_code,
            )
            .select_related("rule")
            .order_by("pk")
        ):
            before = (report.report_due_at, report.due_unconfirmed)
            _clock_set(report)
            if (report.report_due_at, report.due_unconfirmed) == before:
                continue
            with audit_context(job="quality", reason=_("The business calendar changed")):
                report.save()
            moved += 1
    return moved


# --- Clock sweep ------------------------------------------------------------------------------


def _people(*roles: Any) -> list[Any]:
    from medservice.accounts.models import User

    return list(
        User.objects.filter(is_active=True, groups__name__in=[str(role) for role in roles])
        .distinct()
        .order_by("pk")
    )


def report_link(report: AdverseEventReport) -> str:
    return reverse("quality:adverse-event-reports-detail", kwargs={"pk": report.pk})


@dataclass(frozen=True)
class _Clock:
    """The columns of one of a report's clocks, its notifications and the sweep's counts (the
    warning at 75%, the one 24 hours before, the breach)."""

    due: str
    warn: str
    day_before: str
    warned: str
    warned_day_before: str
    breached: str
    stopped: str
    templates: tuple[str, str, str]
    counts: tuple[str, str, str]


REPORT_CLOCK = _Clock(
    "report_due_at", "warn_at", "warn_day_before_at", "warned_at", "warned_day_before_at",
    "breached_at", "submitted_at", ("ae_report_warning", "ae_report_due_soon", "ae_report_breached"),
    ("warned", "due_soon", "breached"),
)  # fmt: skip
# CN-AE-5: the evaluation result (final report), kept on the initial report.
FINAL_CLOCK = _Clock(
    "final_due_at", "final_warn_at", "final_warn_day_before_at", "final_warned_at",
    "final_warned_day_before_at", "final_breached_at", "final_submitted_at",
    ("ae_final_warning", "ae_final_due_soon", "ae_final_breached"),
    ("final_warned", "final_due_soon", "final_breached"),
)  # fmt: skip


def report_clock_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Warn quality staff at 75% of a report's period and 24 hours before its due time;
    escalate to the quality manager and the administrators once it is overdue. The same for
    the evaluation result (final report) of a submitted death / serious-injury report
    (CN-AE-5). Each message once per report and clock (a claimed timestamp), so running the
    job twice sends nothing twice."""
    from medservice.accounts.choices import Role

    now = now or timezone.now()
    counts = {name: 0 for clock_ in (REPORT_CLOCK, FINAL_CLOCK) for name in clock_.counts}
    staff = _people(Role.QUALITY_STAFF, Role.QUALITY_MANAGER)
    escalation = _people(Role.QUALITY_MANAGER, Role.ADMINISTRATOR)
    for spec in (REPORT_CLOCK, FINAL_CLOCK):
        _sweep_clock(spec, now=now, counts=counts, staff=staff, escalation=escalation)
    return counts


def _sweep_clock(
    spec: _Clock, *, now: datetime.datetime, counts: dict[str, int], staff: list[Any],
    escalation: list[Any],
) -> None:  # fmt: skip
    candidates = (
        AdverseEventReport.objects.filter(
            **{f"{spec.stopped}__isnull": True, f"{spec.due}__isnull": False}
        )
        .filter(
            Q(**{f"{spec.due}__lte": now, f"{spec.breached}__isnull": True})
            | Q(**{f"{spec.warn}__lte": now, f"{spec.warned}__isnull": True})
            | Q(**{f"{spec.day_before}__lte": now, f"{spec.warned_day_before}__isnull": True})
        )
        .select_related("rule", "final_rule")
        .order_by(spec.due, "pk")
    )
    warning, due_soon, breached = spec.templates
    for report in candidates:
        due = getattr(report, spec.due)
        if due <= now:
            stages = [(spec.breached, breached, escalation, spec.counts[2], "breached")]
        else:
            stages = []
            warn_at = getattr(report, spec.warn)
            if warn_at is not None and warn_at <= now:
                stages.append((spec.warned, warning, staff, spec.counts[0], "warning"))
            day_before = getattr(report, spec.day_before)
            if day_before is not None and day_before <= now:
                stages.append((spec.warned_day_before, due_soon, staff, spec.counts[1], "due_soon"))
        for column, template, recipients, count, stage in stages:
            with transaction.atomic():
                claimed = AdverseEventReport.objects.filter(
                    pk=report.pk, **{f"{spec.stopped}__isnull": True, f"{column}__isnull": True}
                ).update(**{column: now})
                if not claimed:
                    continue
                notify(
                    recipients=recipients, template=template, context={"report": report},
                    link=report_link(report),
                )  # fmt: skip
                _webhook_due(report, spec, stage, now)
            counts[count] += 1


def _webhook_due(
    report: AdverseEventReport, spec: _Clock, stage: str, now: datetime.datetime
) -> None:
    """Tell the company's own integrations (never a customer's: adverse-event reports are
    internal records) that a legal clock reached a stage: warning (75% of the period), due_soon
    (24 hours left) or breached. No patient or reporter data, only ids, the rule and times."""
    rule = report.final_rule if spec is FINAL_CLOCK else report.rule
    event_publish(
        EventType.ADVERSE_EVENT_REPORT_DUE,
        {
            "adverse_event_report": {
                "id": report.pk,
                "number": report.number,
                "kind": report.kind,
                "status": report.status,
                "market": report.market,
                "outcome": report.outcome,
                "group_event": report.group_event,
                "quality_case": report.quality_case_id,
                "device": report.device_id,
                "device_model": report.device_model_id,
                "awareness_at": isoformat(report.awareness_at),
                "report_due_at": isoformat(report.report_due_at),
                "final_due_at": isoformat(report.final_due_at),
            },
            "clock": "final" if spec is FINAL_CLOCK else "report",
            "rule": rule.code if rule is not None else None,
            "stage": stage,
            "due_at": isoformat(getattr(report, spec.due)),
        },
        organization=None,
        occurred_at=now,
    )


# --- Who sees them ----------------------------------------------------------------------------


def adverse_event_reports_visible_to(user: Any) -> Any:
    """Internal staff whose role may (quality, service managers, auditors); never customers or
    distributors. Same rule as the quality cases they come from."""
    from medservice.customers.selectors import user_scope

    if user is None or user_scope(user) != "internal":
        return AdverseEventReport.objects.none()
    return AdverseEventReport.objects.all()


def reporting_rules_visible_to(user: Any) -> Any:
    from medservice.customers.selectors import user_scope

    if user is None or user_scope(user) != "internal":
        return ReportingRule.objects.none()
    return ReportingRule.objects.all()
