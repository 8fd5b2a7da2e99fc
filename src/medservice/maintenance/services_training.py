"""Customer operator training (使用培训): sessions with their attendees, the printable sign-in
sheet and its signed copy, materials; and the re-training suggestion a use error found by a
repair raises for the department concerned."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, InvalidTransitionError, Problems
from medservice.core.numbering import number_next
from medservice.maintenance.choices import SuggestionStatus, TrainingFileKind
from medservice.maintenance.models import (
    OperatorTraining,
    RetrainingSuggestion,
    TrainingAttendee,
    TrainingFile,
)
from medservice.maintenance.services import require

# The exclusion the assessment records for misuse: the coded use error of a repair.
USE_ERROR_EXCLUSION = "misuse"


def trainer_refusal(trainer: Any) -> str:
    """A trainer is a member of the company's or a distributor's staff ("" when fine)."""
    from medservice.customers.selectors import user_scope

    if trainer is None:
        return _("Choose the trainer.")
    if not trainer.is_active or user_scope(trainer) not in ("internal", "distributor"):
        return _("%(name)s is not a member of the service staff.") % {
            "name": trainer.get_full_name() or trainer.get_username()
        }
    return ""


def _attendee_rows(
    attendees: list[dict[str, Any]], organization: Any, problems: Problems
) -> list[dict[str, Any]]:
    rows = []
    for index, item in enumerate(attendees or [], start=1):
        name = (item.get("name") or "").strip()
        department = item.get("department")
        if not name:
            problems.add(f"attendees.{index}.name", _("Give the attendee's name."))
        if (
            department is not None
            and organization is not None
            and department.organization_id != organization.pk
        ):
            problems.add(
                f"attendees.{index}.department",
                _("%(department)s is not a department of %(organization)s.")
                % {"department": department, "organization": organization},
            )
        rows.append(
            {"name": name[:100], "department": department,
             "position": (item.get("position") or "").strip()[:100]}
        )  # fmt: skip
    return rows


def _session_problems(data: dict[str, Any], problems: Problems) -> None:
    organization = data.get("organization")
    department = data.get("department")
    devices = list(data.get("devices") or [])
    if organization is None:
        problems.add("organization", _("Choose the customer organisation."))
    if (
        department is not None
        and organization is not None
        and department.organization_id != organization.pk
    ):
        problems.add(
            "department",
            _("%(department)s is not a department of %(organization)s.")
            % {"department": department, "organization": organization},
        )
    for device in devices:
        if organization is not None and device.organization_id != organization.pk:
            problems.add(
                "devices",
                _("%(device)s belongs to %(owner)s, not to %(organization)s.")
                % {"device": device, "owner": device.organization, "organization": organization},
            )
    if not devices and not list(data.get("device_models") or []):
        problems.add("devices", _("Name the devices or the device models the training is about."))
    if data.get("held_on") is None:
        problems.add("held_on", _("Give the date of the training."))
    if not (data.get("content") or "").strip():
        problems.add("content", _("Say what was taught."))
    refusal = trainer_refusal(data.get("trainer"))
    if refusal:
        problems.add("trainer", refusal)


def operator_training_create(
    *, actor: Any, model: type[OperatorTraining] = OperatorTraining, data: dict[str, Any]
) -> OperatorTraining:
    """Record (or plan) a training of the customer's operators with its attendees; when it
    answers a re-training suggestion, the suggestion is marked scheduled."""
    require(actor, "maintenance.add_operatortraining", _("You may not record operator trainings."))
    problems = Problems()
    _session_problems(data, problems)
    organization = data.get("organization")
    attendees = _attendee_rows(data.get("attendees") or [], organization, problems)
    suggestion = data.get("suggestion")
    if suggestion is not None:
        if suggestion.status != SuggestionStatus.OPEN:
            problems.add("suggestion", _("This suggestion is already decided."))
        elif organization is not None and suggestion.organization_id != organization.pk:
            problems.add("suggestion", _("The suggestion is about another organisation."))
    problems.raise_if_any(_("The training was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        training = OperatorTraining(
            number=number_next(prefix="OT"),
            organization=organization,
            department=data.get("department"),
            held_on=data["held_on"],
            location=(data.get("location") or "").strip(),
            content=data["content"].strip(),
            trainer=data["trainer"],
            materials=(data.get("materials") or "").strip(),
            suggestion=suggestion,
        )
        training.full_clean(exclude=["number"])
        training.save()
        training.devices.set(data.get("devices") or [])
        training.device_models.set(data.get("device_models") or [])
        TrainingAttendee.objects.bulk_create(
            TrainingAttendee(training=training, organization=organization, **row)
            for row in attendees
        )
        if suggestion is not None:
            _suggestion_decide(
                suggestion, actor=actor, status=SuggestionStatus.SCHEDULED, training=training
            )
    return training


def operator_training_update(
    *,
    actor: Any,
    instance: OperatorTraining,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> OperatorTraining:
    """Correct a session (not its organisation); attendees, when given, replace the list."""
    from medservice.core.errors import ConflictError

    require(
        actor, "maintenance.change_operatortraining", _("You may not change operator trainings.")
    )
    with transaction.atomic(), audit_context(actor=actor):
        current = OperatorTraining.objects.select_for_update().get(pk=instance.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. Reload it, then apply your change again."
                )
                % {"record": current}
            )
        merged = {
            "organization": current.organization,
            "department": data.get("department", current.department),
            "devices": data["devices"] if "devices" in data else list(current.devices.all()),
            "device_models": data["device_models"]
            if "device_models" in data
            else list(current.device_models.all()),
            "held_on": data.get("held_on", current.held_on),
            "content": data.get("content", current.content),
            "trainer": data.get("trainer", current.trainer),
        }
        problems = Problems()
        org = data.get("organization")
        if org is not None and org.pk != current.organization_id:
            problems.add("organization", _("A training stays with its organisation."))
        _session_problems(merged, problems)
        attendees = None
        if "attendees" in data:
            attendees = _attendee_rows(data["attendees"], current.organization, problems)
        problems.raise_if_any(_("The training was not saved."))
        for name in ("department", "held_on", "trainer"):
            setattr(current, name, merged[name])
        current.content = merged["content"].strip()
        for name in ("location", "materials"):
            if name in data:
                setattr(current, name, (data.get(name) or "").strip())
        current.full_clean()
        current.save()
        current.devices.set(merged["devices"])
        current.device_models.set(merged["device_models"])
        if attendees is not None:
            current.attendees.all().delete()
            TrainingAttendee.objects.bulk_create(
                TrainingAttendee(training=current, organization=current.organization, **row)
                for row in attendees
            )
    return current


def training_attendee_create(
    *, actor: Any, model: type[TrainingAttendee] = TrainingAttendee, data: dict[str, Any]
) -> TrainingAttendee:
    """Add one attendee to a session (its own endpoint: the sign-in sheet grows as people
    arrive)."""
    require(actor, "maintenance.add_trainingattendee", _("You may not add attendees."))
    training = data.get("training")
    problems = Problems()
    if training is None:
        problems.add("training", _("Choose the training."))
    rows = _attendee_rows([data], training.organization if training is not None else None, problems)
    # The single attendee's problems are named by their own fields.
    problems.fields = {
        key.replace("attendees.1.", ""): value for key, value in problems.fields.items()
    }
    problems.raise_if_any(_("The attendee was not added."))
    with transaction.atomic(), audit_context(actor=actor):
        attendee = TrainingAttendee(
            training=training, organization=training.organization, **rows[0]
        )
        attendee.full_clean()
        attendee.save()
    return attendee


def training_file_attach(
    *, actor: Any, training: OperatorTraining, kind: str, upload: Any
) -> TrainingFile:
    """Keep the signed sign-in sheet's scan or a training material (photo, video or PDF)."""
    from medservice.core.attachments import attachment_check

    require(actor, "maintenance.add_trainingfile", _("You may not add files to trainings."))
    problems = Problems()
    if kind not in TrainingFileKind.values:
        problems.add("kind", _("Say what the file is."))
    if upload is None:
        problems.add("file", _("Choose a file."))
    problems.raise_if_any(_("The file was not added."))
    mime = attachment_check(upload)
    with transaction.atomic(), audit_context(actor=actor, action="attach"):
        return TrainingFile.objects.create(
            training=training,
            kind=kind,
            file=upload,
            content_type=mime,
            original_name=(getattr(upload, "name", "") or "file")[:255],
            uploaded_by=actor,
        )


def sign_in_sheet_pdf(training: OperatorTraining, *, language: str = "zh-hans") -> bytes:
    """The printable sign-in sheet (培训签到表): the session's facts, then one row per attendee
    with an empty signature cell, and blank rows for walk-ins."""
    from weasyprint import HTML

    attendees = list(training.attendees.select_related("department").order_by("pk"))
    context = {
        "training": training,
        "devices": list(training.devices.select_related("device_model").order_by("pk")),
        "device_models": list(training.device_models.order_by("pk")),
        "attendees": attendees,
        "blank_rows": range(max(0, 12 - len(attendees))),
        "language": language,
    }
    with translation.override(language):
        html = render_to_string("maintenance/sign_in_sheet_pdf.html", context)
    return HTML(string=html).write_pdf()


# --- Re-training suggestions --------------------------------------------------------------------


def _suggestion_decide(
    suggestion: RetrainingSuggestion, *, actor: Any, status: str, training: Any = None,
    reason: str = "",
) -> RetrainingSuggestion:  # fmt: skip
    locked = RetrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if locked.status != SuggestionStatus.OPEN:
        raise InvalidTransitionError(
            _("This suggestion is already %(status)s.") % {"status": locked.get_status_display()}
        )
    with audit_context(actor=actor, reason=reason or None):
        locked.status = status
        locked.training = training
        locked.dismissed_reason = reason
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.save()
    return locked


def suggestion_dismiss(
    *, actor: Any, suggestion: RetrainingSuggestion, reason: str
) -> RetrainingSuggestion:
    """Decide that no re-training is needed, saying why."""
    require(actor, "maintenance.decide_retrainingsuggestion",
            _("You may not decide re-training suggestions."))  # fmt: skip
    if not (reason or "").strip():
        message = _("Say why no re-training is needed.")
        raise InvalidInputError(message, fields={"reason": [message]})
    with transaction.atomic():
        return _suggestion_decide(
            suggestion, actor=actor, status=SuggestionStatus.DISMISSED, reason=reason.strip()
        )


def suggestion_schedule(
    *, actor: Any, suggestion: RetrainingSuggestion, data: dict[str, Any]
) -> OperatorTraining:
    """Turn the suggestion into a training session of its organisation and department about
    its device (the rest of the session's inputs in `data`)."""
    require(actor, "maintenance.decide_retrainingsuggestion",
            _("You may not decide re-training suggestions."))  # fmt: skip
    if suggestion.status != SuggestionStatus.OPEN:
        raise InvalidTransitionError(
            _("This suggestion is already %(status)s.")
            % {"status": suggestion.get_status_display()}
        )
    session = {
        "organization": suggestion.organization,
        "department": suggestion.department,
        "devices": [suggestion.device],
        "content": _("Re-training after a use error: %(reason)s") % {"reason": suggestion.reason},
        **{key: value for key, value in data.items() if value not in (None, "")},
        "suggestion": suggestion,
    }
    return operator_training_create(actor=actor, data=session)


def use_error_suggest(*, work_order: Any) -> RetrainingSuggestion | None:
    """A completed repair whose assessment found misuse (the use-error exclusion) suggests
    re-training the department that uses the device; the service managers are told. Once per
    work order."""
    from medservice.core.notifications import notify
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.services import service_managers

    if work_order.kind != WorkOrderKind.REPAIR or work_order.exclusion != USE_ERROR_EXCLUSION:
        return None
    device = work_order.device
    reason = (
        work_order.exclusion_evidence or work_order.root_cause or work_order.guidance
        or work_order.symptom or work_order.problem
    ).strip()  # fmt: skip
    try:
        with transaction.atomic(), audit_context(actor=None, job="maintenance.use-error"):
            suggestion = RetrainingSuggestion.objects.create(
                organization_id=work_order.organization_id,
                department_id=work_order.department_id or device.department_id,
                device=device,
                work_order=work_order,
                reason=reason,
            )
            notify(
                recipients=[user for user in service_managers() if user.is_active],
                template="maintenance_retraining_suggested",
                context={"suggestion": suggestion, "work_order": work_order, "device": device},
                link=reverse("maintenance:retraining-suggestions-detail", args=[suggestion.pk]),
            )
    except IntegrityError:
        return None  # already suggested for this work order
    return suggestion
