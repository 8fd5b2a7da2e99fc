"""Quality accidents (质量事故): recording (by quality staff, or from a quality case decided as
a quality accident), investigation, grading, the report to the authority due a configurable
number of hours after the accident was discovered (with a warning before and on breach), and
the closure signed by the quality manager.

The grades and hours come from the company's quality-accident procedure (the complaint
procedure's 4.5.7 refers to it; REGULATORY.md has no row for it yet, so they stay settings):
a major accident with serious consequences is reported within 24 hours, any other major
accident within 72 hours (3 days), a general accident is handled and recorded in house
(no report due unless the setting gives one). Losses of 2,000 yuan or more per batch make an
accident major. Settings: QUALITY_ACCIDENT_REPORT_HOURS, QUALITY_ACCIDENT_MAJOR_LOSS_YUAN.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, PermissionDeniedError, Problems
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import Transition, actions_allowed, transition
from medservice.quality.choices import (
    OPEN_ACCIDENT_STATUSES,
    AccidentSeverity,
    AccidentStatus,
)
from medservice.quality.models import QualityAccident

# Hours from discovery to the report to the authority, per grade; None: no report due.
# (Procedure for quality accidents, unverified: kept configurable.)
DEFAULT_REPORT_HOURS: dict[str, int | None] = {
    AccidentSeverity.MAJOR_SERIOUS: 24,
    AccidentSeverity.MAJOR: 72,
    AccidentSeverity.GENERAL: None,
}
DEFAULT_MAJOR_LOSS_YUAN = Decimal("2000")
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
# The warning comes when this share of the time to the deadline has passed.
WARN_AT_SHARE = Decimal("0.75")


def report_hours(severity: str) -> int | None:
    """Hours from discovery within which an accident of this grade is reported (None: none)."""
    configured = getattr(settings, "QUALITY_ACCIDENT_REPORT_HOURS", None)
    if isinstance(configured, int):
        # One number: every grade that needs a report has that many hours.
        return None if DEFAULT_REPORT_HOURS.get(severity) is None else configured
    hours = {**DEFAULT_REPORT_HOURS, **(configured or {})}
    value = hours.get(severity)
    return None if value is None else int(value)


def major_loss_yuan() -> Decimal:
    """Losses from which an accident is at least major (the procedure: 2,000 yuan a batch)."""
    return Decimal(
        str(getattr(settings, "QUALITY_ACCIDENT_MAJOR_LOSS_YUAN", DEFAULT_MAJOR_LOSS_YUAN))
    )


def report_due_for(discovered_at: datetime.datetime, severity: str) -> datetime.datetime | None:
    """The strict due time of the report: the discovery time plus the grade's hours."""
    hours = report_hours(severity)
    return None if hours is None else discovered_at + datetime.timedelta(hours=hours)


# --- The workflow: one table the services, the API actions and the buttons read -------------


def _report_not_yet_submitted(accident: QualityAccident, user: Any) -> str:
    if accident.report_submitted_at is not None:
        return _("The report was already submitted on %(date)s.") % {
            "date": timezone.localtime(accident.report_submitted_at).strftime("%Y-%m-%d %H:%M")
        }
    return ""


def _ready_to_close(accident: QualityAccident, user: Any) -> str:
    missing = [
        str(label)
        for name, label in (
            ("causes", gettext_lazy("causes")),
            ("handling", gettext_lazy("handling")),
        )
        if not getattr(accident, name).strip()
    ]
    if missing:
        return _("Record the %(missing)s before closing.") % {"missing": ", ".join(missing)}
    if accident.report_due_at is not None and accident.report_submitted_at is None:
        return _("The report to the authority has not been submitted.")
    return ""


S = AccidentStatus
TRANSITIONS: dict[str, Transition] = {
    "investigate": Transition(
        sources=frozenset({S.OPEN, S.INVESTIGATING}), target=S.INVESTIGATING,
        permission="quality.investigate_qualityaccident",
        label=gettext_lazy("Record the investigation"), style="primary",
    ),
    "grade": Transition(
        sources=frozenset({S.OPEN, S.INVESTIGATING}), target=None,
        permission="quality.investigate_qualityaccident", label=gettext_lazy("Grade"),
    ),
    "submit-report": Transition(
        sources=frozenset({S.OPEN, S.INVESTIGATING}), target=None,
        permission="quality.report_qualityaccident", guard=_report_not_yet_submitted,
        label=gettext_lazy("Record the report to the authority"), style="primary",
    ),
    "close": Transition(
        sources=frozenset({S.INVESTIGATING}), target=S.CLOSED,
        permission="quality.close_qualityaccident", guard=_ready_to_close,
        label=gettext_lazy("Close and sign"), style="success",
    ),
}  # fmt: skip


def accident_actions_allowed(accident: QualityAccident, user: Any) -> list[tuple[str, Transition]]:
    return actions_allowed(TRANSITIONS, accident, user)


# --- Helpers -------------------------------------------------------------------------------


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _link(accident: QualityAccident) -> str:
    return reverse("quality:quality-accidents-detail", kwargs={"pk": accident.pk})


def _recipients(accident: QualityAccident) -> list[Any]:
    from medservice.quality.services import quality_staff

    recipients = quality_staff()
    if accident.owner is not None and accident.owner not in recipients:
        recipients.append(accident.owner)
    return recipients


def _when(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _check_losses(problems: Problems, severity: str, loss_amount: Decimal | None) -> None:
    threshold = major_loss_yuan()
    if loss_amount is None:
        return
    if loss_amount < 0:
        problems.add("loss_amount", _("Losses cannot be negative."))
    elif severity == AccidentSeverity.GENERAL and loss_amount >= threshold:
        problems.add(
            "loss_amount",
            _("Losses of %(threshold)s yuan or more make the accident major: grade it major.")
            % {"threshold": f"{threshold:,.0f}"},
        )


RECORD_FIELDS = (
    "title", "description", "occurred_at", "place", "organization", "device", "device_model",
    "batch_number", "serial_number", "product_reported", "severity", "loss_amount",
    "loss_description", "persons_affected", "quality_case",
)  # fmt: skip


def _create(*, actor: Any, fields: dict[str, Any]) -> QualityAccident:
    accident = QualityAccident(
        number=number_next(prefix="QAC"),
        report_due_at=report_due_for(fields["discovered_at"], fields["severity"]),
        owner=actor,
        **fields,
    )
    accident.full_clean(exclude=["number", "owner"])
    accident.save()
    notify(
        recipients=_recipients(accident),
        template="quality_accident_recorded",
        context={"accident": accident, "hours": report_hours(accident.severity)},
        link=_link(accident),
    )
    return accident


# --- Services -------------------------------------------------------------------------------


def accident_record(*, actor: Any, data: dict[str, Any]) -> QualityAccident:
    """Quality staff record an accident: what happened, when and where, the product and batch,
    its grade; the report deadline counts from the discovery time (never in the future)."""
    _require(actor, "quality.add_qualityaccident", _("You may not record quality accidents."))
    now = timezone.now()
    problems = Problems()
    discovered = data.get("discovered_at") or now
    occurred = data.get("occurred_at")
    severity = data.get("severity") or ""
    if not (data.get("title") or "").strip():
        problems.add("title", _("Say what happened."))
    if severity not in AccidentSeverity.values:
        problems.add("severity", _("Choose the grade of the accident."))
    if discovered > now + FUTURE_TOLERANCE:
        problems.add("discovered_at", _("The accident cannot have been discovered in the future."))
    if occurred is not None and occurred > discovered:
        problems.add("occurred_at", _("The accident cannot have happened after it was discovered."))
    _check_losses(problems, severity, data.get("loss_amount"))
    case = data.get("quality_case")
    if case is not None and case.quality_accidents.exists():
        problems.add(
            "quality_case",
            _("Quality case %(number)s already has its quality accident.")
            % {"number": case.number},
        )
    problems.raise_if_any(_("The quality accident was not recorded."))
    fields = {name: data[name] for name in RECORD_FIELDS if data.get(name) is not None}
    fields["discovered_at"] = discovered
    device = fields.get("device")
    if device is not None:
        fields.setdefault("organization", device.organization)
        fields.setdefault("device_model", device.device_model)
        fields.setdefault("batch_number", device.batch_number)
        fields.setdefault("serial_number", device.serial_number)
    if case is not None:
        # What the case knows fills what the form left empty.
        for name in ("organization", "device", "device_model"):
            if fields.get(name) is None and getattr(case, f"{name}_id"):
                fields[name] = getattr(case, name)
        for name in ("batch_number", "serial_number", "product_reported"):
            if not fields.get(name):
                fields[name] = getattr(case, name)
    with transaction.atomic(), audit_context(actor=actor):
        return _create(actor=actor, fields=fields)


def accident_open_from_case(*, actor: Any, case: Any) -> Any:
    """Open the quality accident of a case decided as a quality accident, prefilled from the
    case. Returns the QualityAccident; once per case."""
    existing = case.quality_accidents.first()
    if existing is not None:
        return existing
    _require(actor, "quality.add_qualityaccident", _("You may not record quality accidents."))
    # A device-quality problem that harmed someone (procedure 4.5.7) is a major accident; with
    # an injury or death, one with serious consequences. The investigation may regrade it.
    severity = AccidentSeverity.MAJOR_SERIOUS if case.injury else AccidentSeverity.MAJOR
    fields: dict[str, Any] = {
        "quality_case": case,
        "title": (_("Quality accident of quality case %(number)s") % {"number": case.number})[:200],
        "description": case.description,
        # The company knew of it when it knew of the complaint: every clock starts there.
        "discovered_at": case.awareness_at,
        "organization": case.organization,
        "device": case.device,
        "device_model": case.device_model,
        "batch_number": case.batch_number,
        "serial_number": case.serial_number,
        "product_reported": case.product_reported,
        "severity": severity,
    }
    try:
        with transaction.atomic(), audit_context(actor=actor, job=None if actor else "quality"):
            return _create(actor=actor, fields=fields)
    except IntegrityError:
        # Decided twice at once: the other decision opened it.
        return case.quality_accidents.get()


INVESTIGATION_FIELDS = (
    "investigation", "causes", "handling", "responsible_persons", "loss_amount",
    "loss_description", "occurred_at", "persons_affected", "place",
)  # fmt: skip


def accident_investigate(
    *, actor: Any, accident: QualityAccident, data: dict[str, Any]
) -> QualityAccident:
    """Record what the investigation found: the account, causes, handling, who was
    responsible, the losses. Given fields replace the recorded ones; empty ones are kept."""
    given = {
        name: value
        for name, value in data.items()
        if name in INVESTIGATION_FIELDS and value not in (None, "")
    }
    problems = Problems()
    if not given:
        problems.add("investigation", _("Record at least one finding."))
    if "occurred_at" in given and given["occurred_at"] > accident.discovered_at:
        problems.add("occurred_at", _("The accident cannot have happened after it was discovered."))
    _check_losses(problems, accident.severity, given.get("loss_amount"))
    problems.raise_if_any(_("The investigation was not recorded."))
    changes = {
        name: value.strip() if isinstance(value, str) else value for name, value in given.items()
    }
    if accident.owner_id is None:
        changes["owner"] = actor
    with transaction.atomic():
        return transition(accident, "investigate", transitions=TRANSITIONS, actor=actor,
                          changes=changes)  # fmt: skip


def accident_grade(
    *, actor: Any, accident: QualityAccident, severity: str, reason: str
) -> QualityAccident:
    """Grade (or regrade) the accident with the reason; the report deadline follows the grade,
    still counted from the discovery time, and its warnings start again."""
    problems = Problems()
    if severity not in AccidentSeverity.values:
        problems.add("severity", _("Choose the grade of the accident."))
    if not (reason or "").strip():
        problems.add("reason", _("Say why the accident has this grade."))
    _check_losses(problems, severity, accident.loss_amount)
    problems.raise_if_any(_("The grade was not recorded."))
    due = report_due_for(accident.discovered_at, severity)
    changes: dict[str, Any] = {"severity": severity, "report_due_at": due}
    if due != accident.report_due_at:
        changes.update(report_warned_at=None, report_breached_at=None)
    with transaction.atomic():
        return transition(accident, "grade", transitions=TRANSITIONS, actor=actor,
                          reason=reason.strip(), changes=changes)  # fmt: skip


def accident_submit_report(
    *,
    actor: Any,
    accident: QualityAccident,
    submitted_to: str,
    reference: str = "",
    submitted_at: datetime.datetime | None = None,
) -> QualityAccident:
    """Record the report to the authority: when, to whom, under which reference. Once."""
    now = timezone.now()
    submitted_at = submitted_at or now
    problems = Problems()
    if not (submitted_to or "").strip():
        problems.add("submitted_to", _("Say which authority the report went to."))
    if submitted_at > now + FUTURE_TOLERANCE:
        problems.add("submitted_at", _("The report cannot be submitted in the future."))
    elif submitted_at < accident.discovered_at:
        problems.add("submitted_at", _("The report cannot precede the accident's discovery."))
    problems.raise_if_any(_("The report was not recorded."))
    with transaction.atomic():
        return transition(
            accident, "submit-report", transitions=TRANSITIONS, actor=actor,
            changes={
                "report_submitted_at": submitted_at,
                "report_submitted_to": submitted_to.strip()[:200],
                "report_reference": (reference or "").strip()[:100],
                "report_submitted_by": actor,
            },
        )  # fmt: skip


def accident_close(
    *, actor: Any, accident: QualityAccident, conclusion: str, password: str
) -> QualityAccident:
    """The quality manager closes the accident and signs it (password re-entered): the causes
    and handling are recorded, and the report is in where the grade needs one."""
    from medservice.core.signatures import signature_sign

    if not (conclusion or "").strip():
        message = _("Write the conclusion.")
        raise InvalidInputError(message, fields={"conclusion": [message]})
    with transaction.atomic():
        accident = transition(
            accident, "close", transitions=TRANSITIONS, actor=actor,
            changes={
                "closing_note": conclusion.strip(), "closed_at": timezone.now(),
                "closed_by": actor,
            },
        )  # fmt: skip
        # A wrong password raises here and nothing above is kept.
        signature_sign(
            actor=actor,
            record=accident,
            meaning=_("Quality accident closed: investigation, causes and handling approved"),
            password=password,
        )
    return accident


def accident_report_clock_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Warn the owner and the quality staff when an accident's report is not in 75% into its
    time, and again once the deadline has passed; once each, safe to run twice or at once."""
    now = now or timezone.now()
    longest = max((report_hours(grade) or 0) for grade in AccidentSeverity.values)
    counts = {"warned": 0, "breached": 0}
    candidates = (
        QualityAccident.objects.filter(
            report_submitted_at__isnull=True,
            report_due_at__isnull=False,
            status__in=OPEN_ACCIDENT_STATUSES,
            report_due_at__lte=now + datetime.timedelta(hours=longest) / 4,
        )
        .select_related("owner")
        .order_by("report_due_at", "pk")
    )
    for accident in candidates:
        window = accident.report_due_at - accident.discovered_at
        breached = accident.report_due_at <= now
        if not breached and now < accident.report_due_at - window * float(1 - WARN_AT_SHARE):
            continue
        column = "report_breached_at" if breached else "report_warned_at"
        with transaction.atomic(), audit_context(job="quality.accident-report-clock"):
            claimed = QualityAccident.objects.filter(
                pk=accident.pk, report_submitted_at__isnull=True, **{f"{column}__isnull": True}
            ).update(**{column: now})
            if not claimed:
                continue
            notify(
                recipients=_recipients(accident),
                template="quality_accident_report_breached"
                if breached
                else "quality_accident_report_due",
                context={"accident": accident, "due": _when(accident.report_due_at)},
                link=_link(accident),
            )
        counts["breached" if breached else "warned"] += 1
    return counts
