"""KPIs of docs/kpis.md, area: voice. Each is registered with @kpi in medservice.analytics.kpis.

Two groups: "returns" (return rate, recall completion) and "voice" (customer satisfaction, net
promoter score, follow-up completion). Every function builds its population once — from the
owning app's `*_visible_to(user)`, then `kpis.scoped` for the filters — and computes the figure
from that same queryset, so the drill-down is what was counted.

Who may see them, beyond `analytics.view_kpis` (docs/kpis.md, each KPI's "Scope" line):
- `csat`, `nps`: internal users with `feedback.view_survey_results`, and distributors (their
  served organisations; engineer and team filters are internal-only anyway); never customer
  users ("customers none").
- `follow_up_completion`: users who may see follow-ups (`feedback.view_followup`): follow-up
  calls are the company's work (feedback.selectors_followups), so customers do not.
- `recall_completion`: internal only, with `quality.view_recall` (recalls are quality records
  that only internal roles whose permissions allow may read, `recalls_visible_to`).
- `return_rate`: everyone the scope allows (`returns_visible_to`, `delivery_lines_visible_to`).
The registry's `available_to` knows only `internal_only`; the narrower rules are a predicate on
the definition's `allowed`, and each function also checks it, so a
forgotten check elsewhere still yields no figure.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from medservice.analytics.choices import Direction, Unit
from medservice.analytics.kpis import (
    BreakdownRow,
    Column,
    KpiFilter,
    KpiResult,
    by_pk,
    kpi,
    percent,
    rate,
    round1,
    round2,
    scoped,
)
from medservice.customers.selectors import user_scope

RETURN_FILTERS = ("region", "organization", "device_model")
# The standard survey question whose 1–5 answer is the case's overall result (and the
# request's rating): feedback.services_surveys.RATING_QUESTION.
RESULT_QUESTION = "result"
SATISFIED_FROM = 4
# NPS groups, as feedback.selectors_followups.survey_results counts them for ResultRow.nps.
PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6


def _local(moment: datetime.datetime | None) -> str | None:
    """A stored time as the drill-down shows it: local, to the minute."""
    if moment is None:
        return None
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _today(kpi_filter: KpiFilter) -> datetime.date:
    return timezone.localdate(kpi_filter.now)


# --- who may see a KPI --------------------------------------------------------------------------


def survey_results_allowed(user: Any) -> bool:
    """Survey figures: internal users who may read survey results; distributors over the
    organisations they serve; never customer users (docs/kpis.md, csat "Scope")."""
    scope = user_scope(user)
    if scope == "distributor":
        return True
    return scope == "internal" and user.has_perm("feedback.view_survey_results")


def follow_ups_allowed(user: Any) -> bool:
    """Follow-up calls are the company's work: users who may see them (not customers)."""
    return user_scope(user) in ("internal", "distributor") and user.has_perm(
        "feedback.view_followup"
    )


def recalls_allowed(user: Any) -> bool:
    return user_scope(user) == "internal" and user.has_perm("quality.view_recall")


# --- Returns --------------------------------------------------------------------------------


def _decision_label(line: Any) -> Any:
    return line.request.get_decision_display() or gettext("Not yet decided")


@kpi(
    "return_rate", name=_("Return rate"), unit=Unit.PERCENT, direction=Direction.AT_MOST,
    group="returns", order=70, filters=RETURN_FILTERS,
    statistic=_("units returned per unit delivered"), measure_label=_("Quantity returned"),
    columns=(
        Column(_("Return"), lambda line: str(line.request)),
        Column(_("Requested on"), lambda line: line.request.requested_on),
        Column(_("Organisation"), lambda line: line.request.organization),
        Column(_("Device model"), lambda line: line.device_model),
        Column(_("Serial or batch"), lambda line: line.serial_number or line.batch_number),
        Column(_("Reason"), lambda line: line.request.get_reason_display()),
        Column(_("Decision"), _decision_label),
    ),
    select_related=("request", "request__organization", "device_model"),
)  # fmt: skip
def kpi_return_rate(kpi_filter: KpiFilter) -> KpiResult:
    """Units the customers asked to send back per unit delivered, in the same period:
    Σ ReturnLine.quantity of requests with `requested_on` in the period (requests decided
    `reject` excluded) over Σ DeliveryLine.quantity of deliveries with `delivered_on` in it.

    The drill-down is the return lines; each one's measure is its quantity, so the measures
    add up to the numerator (the denominator, delivered quantity, has no list here: it is the
    deliveries page's). Undecided requests count and make the figure provisional. The
    breakdown by reason comes from this same queryset, not from `returns_report`, which cannot
    take the organisation and region filters nor leaves rejected requests out.
    """
    from medservice.installed_base.selectors import delivery_lines_visible_to
    from medservice.returns.choices import Decision, ReturnReason
    from medservice.returns.models import ReturnLine
    from medservice.returns.selectors import returns_visible_to

    records = (
        scoped(
            ReturnLine.objects.filter(request__in=returns_visible_to(kpi_filter.user)),
            kpi_filter, organization="request__organization",
            region="request__organization__region", device_model="device_model",
        )
        .filter(kpi_filter.dates_in_period("request__requested_on"))
        .exclude(request__decision=Decision.REJECT)
        .select_related("request", "request__organization", "device_model")
        .order_by("request__requested_on", "request_id", "pk")
    )  # fmt: skip
    delivered_lines = scoped(
        delivery_lines_visible_to(kpi_filter.user), kpi_filter,
        organization="delivery__organization", region="delivery__organization__region",
        device_model="device_model",
    ).filter(kpi_filter.dates_in_period("delivery__delivered_on"))  # fmt: skip
    delivered = delivered_lines.aggregate(total=Sum("quantity"))["total"] or 0
    measures = {line.pk: line.quantity for line in records}
    returned = sum(measures.values())
    result = KpiResult(
        code="return_rate", value=percent(returned, delivered), records=records,
        measures=measures, numerator=Decimal(returned), denominator=Decimal(delivered),
    )  # fmt: skip
    reasons = dict(ReturnReason.choices)
    by_reason = (
        records.order_by().values("request__reason").annotate(quantity=Sum("quantity"))
        .order_by("request__reason")
    )  # fmt: skip
    for row in by_reason:
        result.breakdown.append(
            BreakdownRow(
                f"reason:{row['request__reason']}",
                reasons.get(row["request__reason"], row["request__reason"]),
                Decimal(row["quantity"]),
                Decimal(delivered),
                percent(row["quantity"], delivered),
            )
        )
    undecided = records.filter(request__decision="").order_by().values("request").distinct().count()
    if undecided:
        result.provisional_until = max(kpi_filter.end, _today(kpi_filter))
        result.notes.append(
            gettext(
                "%(count)s return requests are not decided yet: they count, and the figure "
                "is provisional until they are."
            )
            % {"count": undecided}
        )
    if not delivered and returned:
        result.notes.append(gettext("Nothing was delivered in the period: no rate."))
    return result


# --- Recalls ----------------------------------------------------------------------------------


def _recall_device_or_recipient(entry: Any) -> Any:
    """The organisation of a drill-down row (a recalled device or a recipient)."""
    recipient = getattr(entry, "recipient", None) or entry
    return recipient.organization


def _recall_state(entry: Any) -> Any:
    if hasattr(entry, "disposition"):
        return entry.get_disposition_display() or gettext("No disposition yet")
    return gettext("Acknowledged") if entry.acknowledged_at else gettext("Not acknowledged")


def _recall_done_at(entry: Any) -> str | None:
    return _local(entry.disposition_at if hasattr(entry, "disposition") else entry.acknowledged_at)


@kpi(
    "recall_completion", allowed=recalls_allowed,
    name=_("Recall completion"), unit=Unit.PERCENT, group="returns",
    order=71, internal_only=True, filters=RETURN_FILTERS,
    statistic=_("share of affected devices dealt with"), measure_label=_("Done"),
    columns=(
        Column(_("Recall"), lambda entry: entry.recall.number),
        Column(_("Device model"), lambda entry: entry.recall.device_model),
        Column(_("Device"), lambda entry: getattr(entry, "device", None) or "—"),
        Column(_("Organisation"), _recall_device_or_recipient),
        Column(_("State"), _recall_state),
        Column(_("Done at"), _recall_done_at),
    ),
    select_related=("recall", "recall__device_model"),
)  # fmt: skip
def kpi_recall_completion(kpi_filter: KpiFilter) -> KpiResult:
    """Share of the affected devices dealt with (a disposition, `not_found` included), or, for
    a recall without device records, of recipients who acknowledged — the rule of
    `quality.recalls.RecallProgress.percent` — read at the period's end (`upto`): a
    disposition counts if recorded by then, an acknowledgement likewise. Pooled over the
    recalls in progress or closed, decided by the period's end and not closed before its start:
    sums of done and total, not an average of percentages. Filters: model (the recall's),
    organisation and region (the recipient's).

    Drill-down: the RecallDevice rows, measure True when done; when no recall of the pool has
    devices (consumables), the recipients, True when acknowledged. When the pool mixes both,
    the list shows the devices and the recipients of the device-less recalls are counted in
    the figure and shown in their recall's breakdown row (a note says how many): then
    `records.count()` is the denominator less those recipients. Beside it: one breakdown row
    per recall, notices on time (CN-RC-1: notified by `notify_due_at`, among recipients whose
    notice was sent or is due by then) and the devices declared not found.
    """
    from medservice.quality.choices import Disposition, RecallStatus
    from medservice.quality.models import Recall, RecallDevice, RecallRecipient
    from medservice.quality.recalls import RecallProgress, recalls_visible_to

    moment = kpi_filter.upto
    allowed = recalls_allowed(kpi_filter.user)
    recalls = (
        recalls_visible_to(kpi_filter.user) if allowed else Recall.objects.none()
    ).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=kpi_filter.start_at),
        status__in=(RecallStatus.IN_PROGRESS, RecallStatus.CLOSED), decided_at__lt=moment,
    )  # fmt: skip
    if kpi_filter.device_model_id:
        recalls = recalls.filter(device_model_id=kpi_filter.device_model_id)
    devices = (
        scoped(
            RecallDevice.objects.filter(recall__in=recalls), kpi_filter,
            organization="recipient__organization", region="recipient__organization__region",
        )
        .select_related("recall__device_model", "device", "recipient__organization")
        .order_by("recall__decided_at", "recall_id", "device__serial_number", "pk")
    )  # fmt: skip
    recipients = scoped(
        RecallRecipient.objects.filter(recall__in=recalls),
        kpi_filter,
    ).select_related("recall__device_model", "organization")
    device_done = Q(disposition_at__lte=moment) & ~Q(disposition="")
    per_recall_devices = {
        row["recall"]: row
        for row in devices.order_by().values("recall").annotate(
            total=Count("pk"), done=Count("pk", filter=device_done),
            not_found=Count("pk", filter=device_done & Q(disposition=Disposition.NOT_FOUND)),
        )
    }  # fmt: skip
    per_recall_recipients = {
        row["recall"]: row
        for row in recipients.order_by().values("recall").annotate(
            total=Count("pk"),
            notified=Count("pk", filter=Q(notified_at__lte=moment)),
            acknowledged=Count("pk", filter=Q(acknowledged_at__lte=moment)),
        )
    }  # fmt: skip
    rows: list[BreakdownRow] = []
    done = total = 0
    recipient_recalls: list[int] = []
    for recall in recalls.select_related("device_model").order_by("decided_at", "pk"):
        by_device = per_recall_devices.get(recall.pk, {})
        by_recipient = per_recall_recipients.get(recall.pk, {})
        progress = RecallProgress(
            devices_total=by_device.get("total", 0), devices_done=by_device.get("done", 0),
            recipients_total=by_recipient.get("total", 0),
            recipients_notified=by_recipient.get("notified", 0),
            recipients_acknowledged=by_recipient.get("acknowledged", 0), by_disposition={},
        )  # fmt: skip
        if progress.devices_total:
            recall_done, recall_total = progress.devices_done, progress.devices_total
        elif progress.recipients_total:
            recall_done, recall_total = progress.recipients_acknowledged, progress.recipients_total
            recipient_recalls.append(recall.pk)
        else:
            continue  # nothing of this recall within the filter
        done += recall_done
        total += recall_total
        rows.append(
            BreakdownRow(
                f"recall:{recall.number}",
                f"{recall.number} · {recall.device_model}",
                Decimal(recall_done),
                Decimal(recall_total),
                progress.percent,
            )
        )
    if per_recall_devices or not recipient_recalls:
        records = devices
        measures = by_pk(
            records,
            lambda entry: bool(entry.disposition) and entry.disposition_at is not None
            and entry.disposition_at <= moment,
        )  # fmt: skip
    else:
        records = recipients.filter(recall__in=recipient_recalls).order_by(
            "recall__decided_at", "recall_id", "organization__name", "pk"
        )
        measures = by_pk(
            records,
            lambda entry: entry.acknowledged_at is not None and entry.acknowledged_at <= moment,
        )
    result = KpiResult(
        code="recall_completion", value=percent(done, total), records=records,
        measures=measures, numerator=Decimal(done), denominator=Decimal(total),
        breakdown=rows, as_of=moment,
    )  # fmt: skip
    if per_recall_devices and recipient_recalls:
        left_out = sum(per_recall_recipients[pk]["total"] for pk in recipient_recalls)
        result.notes.append(
            gettext(
                "%(count)s recipients of recalls without device records are counted in the "
                "figure and shown per recall; the list shows the devices."
            )
            % {"count": left_out}
        )
    # Notices on time (CN-RC-1), over recipients whose outcome is known by then.
    notices = recipients.filter(recall__notify_due_at__isnull=False).filter(
        Q(notified_at__lte=moment) | Q(recall__notify_due_at__lte=moment)
    )
    known = notices.count()
    on_time = notices.filter(
        Q(notified_at__lte=moment) & Q(notified_at__lte=F("recall__notify_due_at"))
    ).count()
    result.breakdown.append(
        BreakdownRow("notices_on_time", _("Notices on time"), Decimal(on_time), Decimal(known),
                     percent(on_time, known))
    )  # fmt: skip
    if known:
        result.notes.append(
            gettext("Notices sent on time: %(on_time)s of %(known)s recipients.")
            % {"on_time": on_time, "known": known}
        )
    not_found = sum(row["not_found"] for row in per_recall_devices.values())
    devices_total = sum(row["total"] for row in per_recall_devices.values())
    if devices_total:
        result.breakdown.append(
            BreakdownRow("not_found", _("Devices not found"), Decimal(not_found),
                         Decimal(devices_total), percent(not_found, devices_total))
        )  # fmt: skip
    if not_found:
        result.notes.append(
            gettext("%(count)s devices declared not found count as done.") % {"count": not_found}
        )
    return result


# --- Customers' voice -------------------------------------------------------------------------

CASE_SUBJECTS = ("ticket", "work_order")


def _subject(kpi_filter: KpiFilter) -> str:
    """The `subject` extra filter (ticket, work_order, periodic), "" when absent or unknown."""
    from medservice.feedback.choices import SurveySubject

    subject = kpi_filter.extra.get("subject", "")
    return subject if subject in SurveySubject.values else ""


def _surveys(kpi_filter: KpiFilter, *, allowed: bool) -> QuerySet:
    """The surveys the user may see, filtered through the fields each survey copied at
    creation (engineer, team, region, model: the case as it was)."""
    from medservice.feedback.models import Survey
    from medservice.feedback.selectors_followups import surveys_visible_to

    surveys = surveys_visible_to(kpi_filter.user) if allowed else Survey.objects.none()
    surveys = scoped(
        surveys, kpi_filter, region="region", device_model="device_model",
        engineer="engineer", team="team",
    )  # fmt: skip
    subject = _subject(kpi_filter)
    return surveys.filter(subject=subject) if subject else surveys


def _survey_case(survey: Any) -> Any:
    return survey.ticket or survey.work_order or survey.campaign


def _result_score(survey_field: str = "pk") -> Subquery:
    """The answer to the overall `result` question of the survey at `survey_field`."""
    from medservice.feedback.models import SurveyAnswer

    return Subquery(
        SurveyAnswer.objects.filter(
            survey=OuterRef(survey_field), question__code=RESULT_QUESTION, score__isnull=False
        ).values("score")[:1]
    )


@kpi(
    "csat", allowed=survey_results_allowed,
    name=_("Customer satisfaction"), unit=Unit.PERCENT, group="voice", order=60,
    statistic=_("share of surveyed cases scoring 4–5"), measure_label=_("Satisfied"),
    columns=(
        Column(_("Case"), _survey_case),
        Column(_("Organisation"), lambda survey: survey.organization),
        Column(_("Engineer"), lambda survey: survey.engineer),
        Column(_("Answered at"), lambda survey: _local(survey.answered_at)),
        Column(_("Result (1–5)"), lambda survey: survey.result_score),
    ),
    select_related=("ticket", "work_order", "organization", "engineer"),
    extra_filters=("subject",),
)  # fmt: skip
def kpi_csat(kpi_filter: KpiFilter) -> KpiResult:
    """Share of surveyed cases whose customer was satisfied with the result: the `result`
    answer (1–5) scoring 4 or 5.

    The figure (value, numerator, denominator) counts the answered surveys of a request or a
    work order (`answered_at` in the period, with a `result` answer; periodic campaigns are
    excluded), and `records` are exactly those surveys: `records.count() == denominator`, the
    True measures are the numerator. A request's rating given in the portal without a survey
    answered with a result (docs/kpis.md: "else Ticket.rating") lives on another model, so it
    cannot be in the same list: those ratings (`rated_at` in the period, cancelled requests
    excluded; filtered by the request's owner, team, organisation and model) are the breakdown
    row "ratings", and "all" is the docs' figure over both, surveys and ratings. Also in the
    breakdown: the answer rate (answered / sent, by `sent_at`) and the average of each score
    question over the same surveys (the averages `survey_results` gives, on this filter).
    """
    from medservice.feedback.choices import QuestionKind, SurveyStatus
    from medservice.feedback.models import SurveyAnswer
    from medservice.tickets.models import Ticket
    from medservice.tickets.selectors import tickets_visible_to

    allowed = survey_results_allowed(kpi_filter.user)
    cases = _surveys(kpi_filter, allowed=allowed).filter(subject__in=CASE_SUBJECTS)
    records = (
        cases.filter(status=SurveyStatus.ANSWERED)
        .filter(kpi_filter.in_period("answered_at"))
        .annotate(result_score=_result_score())
        .filter(result_score__isnull=False)
        .select_related("ticket", "work_order", "organization", "engineer")
        .order_by("answered_at", "pk")
    )
    result = rate(
        "csat", records, by_pk(records, lambda survey: survey.result_score >= SATISFIED_FROM)
    )
    subject = _subject(kpi_filter)
    ratings = (
        scoped(
            (tickets_visible_to(kpi_filter.user) if allowed else Ticket.objects.none())
            .exclude(status="cancelled")
            .filter(rating__isnull=False)
            .filter(kpi_filter.in_period("rated_at")),
            kpi_filter, device_model=("device__device_model", "device_model"),
            engineer="owner", team="team",
        ).exclude(
            Exists(
                SurveyAnswer.objects.filter(
                    survey__ticket=OuterRef("pk"), survey__status=SurveyStatus.ANSWERED,
                    question__code=RESULT_QUESTION, score__isnull=False,
                )
            )
        )
        if subject in ("", "ticket") else Ticket.objects.none()
    )  # fmt: skip
    rated = ratings.aggregate(
        total=Count("pk"), satisfied=Count("pk", filter=Q(rating__gte=SATISFIED_FROM))
    )
    surveys_total, surveys_satisfied = int(result.denominator), int(result.numerator)
    all_total = surveys_total + rated["total"]
    all_satisfied = surveys_satisfied + rated["satisfied"]
    result.breakdown += [
        BreakdownRow("surveys", _("Surveys"), result.numerator, result.denominator, result.value),
        BreakdownRow("ratings", _("Portal ratings without an answered survey"),
                     Decimal(rated["satisfied"]), Decimal(rated["total"]),
                     percent(rated["satisfied"], rated["total"])),
        BreakdownRow("all", _("All scored cases"), Decimal(all_satisfied), Decimal(all_total),
                     percent(all_satisfied, all_total)),
    ]  # fmt: skip
    sent = cases.filter(kpi_filter.in_period("sent_at")).aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(status=SurveyStatus.ANSWERED))
    )
    result.breakdown.append(
        BreakdownRow("answer_rate", _("Answer rate"), Decimal(sent["answered"]),
                     Decimal(sent["sent"]), percent(sent["answered"], sent["sent"]))
    )  # fmt: skip
    averages = (
        SurveyAnswer.objects.filter(
            survey__in=records.order_by().values("pk"), question__kind=QuestionKind.SCORE,
            score__isnull=False,
        )
        .values("question__code", "question__order")
        .annotate(average=Avg("score"))
        .order_by("question__order", "question__code")
    )  # fmt: skip
    for row in averages:
        result.breakdown.append(
            BreakdownRow(
                f"average:{row['question__code']}",
                gettext("Average: %(question)s") % {"question": row["question__code"]},
                None,
                None,
                round2(Decimal(str(row["average"]))),
            )
        )
    if rated["total"]:
        result.notes.append(
            gettext(
                "The figure counts surveys. With the %(count)s portal ratings of requests "
                "without an answered survey: %(value)s %% of %(total)s cases."
            )
            % {"count": rated["total"], "value": percent(all_satisfied, all_total),
               "total": all_total}
        )  # fmt: skip
    return result


def _recommendation_group(answer: Any) -> Any:
    if answer.score >= PROMOTER_FROM:
        return gettext("Promoter")
    if answer.score <= DETRACTOR_UP_TO:
        return gettext("Detractor")
    return gettext("Passive")


@kpi(
    "nps", allowed=survey_results_allowed,
    name=_("Net promoter score"), unit=Unit.POINTS, group="voice", order=61,
    statistic=_("% promoters − % detractors"), measure_label=_("Recommendation (0–10)"),
    columns=(
        Column(_("Case"), lambda answer: _survey_case(answer.survey)),
        Column(_("Organisation"), lambda answer: answer.survey.organization),
        Column(_("Engineer"), lambda answer: answer.survey.engineer),
        Column(_("Answered at"), lambda answer: _local(answer.survey.answered_at)),
        Column(_("Group"), _recommendation_group),
    ),
    select_related=("survey", "survey__organization", "survey__engineer"),
    extra_filters=("subject",),
)  # fmt: skip
def kpi_nps(kpi_filter: KpiFilter) -> KpiResult:
    """Net promoter score: % promoters (9–10) minus % detractors (0–6) among the answers to
    recommendation questions of surveys answered in the period, every subject (periodic
    campaigns included; `subject` filters), in points with one decimal (half up).

    `records` are the answers (SurveyAnswer), one per counted score: `records.count()` is the
    denominator; each measure is the score, and the numerator is the promoters (measures of 9
    or 10). The value is not numerator / denominator but `100 × (promoters − detractors) /
    answers`, the rule of `feedback.selectors_followups.ResultRow.nps` (which rounds a float;
    here Decimal, half up). Breakdown: promoters, passives, detractors, each a share.
    """
    from medservice.feedback.choices import QuestionKind, SurveyStatus
    from medservice.feedback.models import SurveyAnswer

    allowed = survey_results_allowed(kpi_filter.user)
    surveys = (
        _surveys(kpi_filter, allowed=allowed)
        .filter(status=SurveyStatus.ANSWERED)
        .filter(kpi_filter.in_period("answered_at"))
    )
    records = (
        SurveyAnswer.objects.filter(
            survey__in=surveys.order_by().values("pk"),
            question__kind=QuestionKind.RECOMMENDATION, score__isnull=False,
        )
        .select_related(
            "survey", "survey__organization", "survey__engineer", "survey__ticket",
            "survey__work_order", "survey__campaign",
        )
        .order_by("survey__answered_at", "pk")
    )  # fmt: skip
    measures = by_pk(records, lambda answer: answer.score)
    answers = len(measures)
    promoters = sum(1 for score in measures.values() if score >= PROMOTER_FROM)
    detractors = sum(1 for score in measures.values() if score <= DETRACTOR_UP_TO)
    passives = answers - promoters - detractors
    value = round1(Decimal(100) * (promoters - detractors) / Decimal(answers)) if answers else None
    return KpiResult(
        code="nps", value=value, records=records, measures=measures,
        numerator=Decimal(promoters), denominator=Decimal(answers),
        breakdown=[
            BreakdownRow(key, label, Decimal(count), Decimal(answers), percent(count, answers))
            for key, label, count in (
                ("promoters", _("Promoters (9–10)"), promoters),
                ("passives", _("Passives (7–8)"), passives),
                ("detractors", _("Detractors (0–6)"), detractors),
            )
        ],
    )  # fmt: skip


def _follow_up_kind(kpi_filter: KpiFilter) -> tuple[str, bool]:
    """The `kind` extra filter: call by default; an unknown value is ignored (and said)."""
    from medservice.feedback.choices import FollowUpKind

    kind = kpi_filter.extra.get("kind", "")
    if kind in FollowUpKind.values:
        return kind, False
    return FollowUpKind.CALL, bool(kind)


def _completed_by_due(follow_up: Any, moment: datetime.datetime) -> bool:
    return (
        follow_up.status in ("done", "not_reached")
        and follow_up.completed_at is not None
        and follow_up.completed_at <= moment
        and timezone.localdate(follow_up.completed_at) <= follow_up.due_on
    )


@kpi(
    "follow_up_completion", allowed=follow_ups_allowed,
    name=_("Follow-up completion"), unit=Unit.PERCENT, group="voice",
    order=62, statistic=_("share of follow-ups due made by their due date"),
    measure_label=_("Made by the due date"),
    columns=(
        Column(_("Follow-up"), lambda follow_up: follow_up.number),
        Column(_("Service request"), lambda follow_up: follow_up.ticket),
        Column(_("Organisation"), lambda follow_up: follow_up.organization),
        Column(_("Assignee"), lambda follow_up: follow_up.assignee),
        Column(_("Due on"), lambda follow_up: follow_up.due_on),
        Column(_("Completed at"), lambda follow_up: _local(follow_up.completed_at)),
        Column(_("Status"), lambda follow_up: follow_up.get_status_display()),
        Column(_("Outcome"), lambda follow_up: follow_up.get_outcome_display()),
    ),
    select_related=("ticket", "organization", "assignee"),
    extra_filters=("kind",),
)  # fmt: skip
def kpi_follow_up_completion(kpi_filter: KpiFilter) -> KpiResult:
    """Share of the follow-ups due in the period (by their stored `due_on`, up to today) that
    were made by their due date: status done or not reached, completed (by `as_of`) on or
    before the local due day. Open follow-ups past due count as not made. Kind `call` (SOP-4)
    unless the `kind` filter asks for `use_check`. Provisional until the period's last day
    while that day has not passed (follow-ups due later in the period are not counted yet).
    Breakdown: the reach rate (done / done + not reached) and the outcomes.
    """
    from medservice.feedback.choices import FollowUpOutcome, FollowUpStatus
    from medservice.feedback.models import FollowUp
    from medservice.feedback.selectors_followups import follow_ups_visible_to

    kind, unknown_kind = _follow_up_kind(kpi_filter)
    allowed = follow_ups_allowed(kpi_filter.user)
    records = (
        scoped(
            follow_ups_visible_to(kpi_filter.user) if allowed else FollowUp.objects.none(),
            kpi_filter, device_model="device__device_model", engineer="assignee",
            team="ticket__team",
        )
        .filter(kind=kind)
        .filter(kpi_filter.dates_in_period("due_on"))
        .select_related("ticket", "organization", "assignee")
        .order_by("due_on", "pk")
    )  # fmt: skip
    moment = kpi_filter.now
    result = rate(
        "follow_up_completion", records,
        by_pk(records, lambda follow_up: _completed_by_due(follow_up, moment)),
    )  # fmt: skip
    if _today(kpi_filter) <= kpi_filter.end:
        result.provisional_until = kpi_filter.end
    completed = records.filter(completed_at__lte=moment)
    counts = completed.aggregate(
        done=Count("pk", filter=Q(status=FollowUpStatus.DONE)),
        not_reached=Count("pk", filter=Q(status=FollowUpStatus.NOT_REACHED)),
    )
    closed = counts["done"] + counts["not_reached"]
    result.breakdown.append(
        BreakdownRow("reached", _("Customer reached"), Decimal(counts["done"]), Decimal(closed),
                     percent(counts["done"], closed))
    )  # fmt: skip
    outcomes = dict(
        completed.exclude(outcome="").order_by().values_list("outcome").annotate(Count("pk"))
    )
    with_outcome = sum(outcomes.values())
    for value, label in FollowUpOutcome.choices:
        if value in outcomes:
            result.breakdown.append(
                BreakdownRow(f"outcome:{value}", label, Decimal(outcomes[value]),
                             Decimal(with_outcome), percent(outcomes[value], with_outcome))
            )  # fmt: skip
    if unknown_kind:
        result.notes.append(gettext("Unknown follow-up kind: follow-up calls are shown."))
    return result
