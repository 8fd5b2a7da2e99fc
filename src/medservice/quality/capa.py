"""CAPA (corrective and preventive actions, and improvement actions): one tracker.

open →(record-root-cause) actions →(submit-verification, every action done) verification
→(verify: effective) verification, verified →(close, signed by the quality manager) closed.
An ineffective verification sends the CAPA back to actions; cancel (with a reason) until it is
closed. Actions are added while the CAPA is open, under way or being verified, and a CAPA never
closes over an action not yet done. Overdue actions remind their owners once a day.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import Transition, actions_allowed, transition
from medservice.quality.choices import (
    OPEN_CAPA_STATUSES,
    CapaKind,
    CapaStatus,
    RootCauseMethod,
    VerificationResult,
)
from medservice.quality.models import Capa, CapaAction

S = CapaStatus


def _has_actions_all_done(capa: Capa, user: Any) -> str:
    actions = list(capa.actions.values_list("done_at", flat=True))
    if not actions:
        return gettext("Add at least one action before the verification.")
    if any(done is None for done in actions):
        return gettext("Every action must be done before the verification.")
    return ""


def _verified_and_all_done(capa: Capa, user: Any) -> str:
    if capa.verification_result != VerificationResult.EFFECTIVE:
        return gettext("The effectiveness must be verified (effective) before closing.")
    still_open = capa.actions.filter(done_at__isnull=True).count()
    if still_open:
        return gettext(
            "%(count)s action(s) not done yet: a CAPA closes only when every action is done."
        ) % {"count": still_open}
    return ""


TRANSITIONS: dict[str, Transition] = {
    "record-root-cause": Transition(
        sources=frozenset({S.OPEN, S.ACTIONS}), target=S.ACTIONS,
        permission="quality.change_capa", label=gettext_lazy("Record the root cause"),
        style="primary",
    ),
    "add-action": Transition(
        sources=frozenset({S.OPEN, S.ACTIONS, S.VERIFICATION}), target=None,
        permission="quality.change_capa", label=gettext_lazy("Add an action"),
    ),
    # Quality staff, or the action's owner whatever their role (capa_complete_action).
    "complete-action": Transition(
        sources=frozenset(OPEN_CAPA_STATUSES), target=None,
        permission="quality.change_capa", label=gettext_lazy("Complete the action"),
    ),
    "submit-verification": Transition(
        sources=frozenset({S.ACTIONS}), target=S.VERIFICATION,
        permission="quality.change_capa", label=gettext_lazy("Ready for verification"),
        guard=_has_actions_all_done, style="primary",
    ),
    # Effective: stays for closure; not effective: back to actions (computed in capa_verify).
    "verify": Transition(
        sources=frozenset({S.VERIFICATION}), target=None,
        permission="quality.verify_capa", label=gettext_lazy("Verify the effectiveness"),
        style="primary",
    ),
    "close": Transition(
        sources=frozenset({S.VERIFICATION}), target=S.CLOSED,
        permission="quality.close_capa", label=gettext_lazy("Close (signed)"),
        guard=_verified_and_all_done, style="success",
    ),
    "cancel": Transition(
        sources=frozenset(OPEN_CAPA_STATUSES), target=S.CANCELLED,
        permission="quality.cancel_capa", label=gettext_lazy("Cancel"), style="outline-danger",
    ),
}  # fmt: skip


def capas_visible_to(user: Any) -> QuerySet[Capa]:
    """CAPAs are internal quality records: the company's staff whose role may read them."""
    from medservice.customers.selectors import user_scope

    if user is None or user_scope(user) != "internal":
        return Capa.objects.none()
    return Capa.objects.all()


def staff_members() -> QuerySet[Any]:
    """Who may own a CAPA or one of its actions: the company's active staff."""
    from medservice.accounts.models import User
    from medservice.customers.choices import OrganizationKind

    return User.objects.filter(
        is_active=True, organization__kind=OrganizationKind.COMPANY
    ).order_by("username")


def capa_is_action_owner(capa_id: int, user: Any) -> bool:
    """Whether `user` owns an action of the CAPA (and so may read it and complete the action,
    whatever their role)."""
    return (
        bool(user and user.is_authenticated)
        and CapaAction.objects.filter(capa_id=capa_id, owner_id=user.pk).exists()
    )


def capa_actions_allowed(capa: Capa, user: Any) -> list[tuple[str, Transition]]:
    """The workflow actions `user` may take on `capa` now (the page's buttons)."""
    return actions_allowed(TRANSITIONS, capa, user)


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _link(capa: Capa) -> str:
    return reverse("quality:capas-detail", kwargs={"pk": capa.pk})


def _is_staff_member(user: Any) -> bool:
    from medservice.customers.selectors import user_scope

    return user is not None and user.is_active and user_scope(user) == "internal"


def _check_owner(problems: Problems, field: str, owner: Any, *, required: bool) -> None:
    if owner is None:
        if required:
            problems.add(field, _("Choose who is responsible."))
    elif not _is_staff_member(owner):
        problems.add(field, _("The owner must be an active member of the company's staff."))


def _check_due(problems: Problems, field: str, due_on: datetime.date | None, *, required: bool):
    if due_on is None:
        if required:
            problems.add(field, _("Give the due date."))
    elif due_on < timezone.localdate():
        problems.add(field, _("The due date cannot be in the past."))


def _check_file(problems: Problems, field: str, upload: Any) -> None:
    if not upload:
        return
    from medservice.core.attachments import attachment_check

    try:
        attachment_check(upload, field=field)
    except InvalidInputError as error:
        for message in error.fields.get(field, [error.message]):
            problems.add(field, message)


def capa_open(
    *,
    actor: Any,
    kind: str,
    problem: str,
    source: Any = None,
    source_label: str = "",
    owner: Any = None,
    due_on: datetime.date | None = None,
    permission: str = "quality.add_capa",
) -> Any:
    """Open a CAPA of `kind` ("corrective", "preventive", "improvement") about `problem`, raised
    by `source` (any record: a quality case, a trend signal, a spot-check finding...) and
    described by `source_label` (its number). Returns the Capa.

    `permission` is what the actor must hold: a later app that raises improvement actions by
    its own rule (an evaluation report's KPI, a major spot-check finding) names its own, so
    its users open those without the right to open any CAPA."""
    _require(actor, permission, _("You may not open CAPAs."))
    problems = Problems()
    if kind not in CapaKind.values:
        problems.add("kind", _("Choose corrective, preventive or improvement."))
    if not (problem or "").strip():
        problems.add("problem", _("Describe the problem the CAPA is to solve."))
    label = (source_label or "").strip() or (str(source) if source is not None else "")
    if source is not None and getattr(source, "pk", None) is None:
        problems.add("source", _("The source record has not been saved."))
    if not label:
        problems.add(
            "source_label",
            _("Say where the problem came from (e.g. internal audit 2026-03, management review)."),
        )
    _check_owner(problems, "owner", owner, required=False)
    _check_due(problems, "due_on", due_on, required=False)
    problems.raise_if_any(_("The CAPA was not opened."))
    with transaction.atomic(), audit_context(actor=actor, job=None if actor else "quality"):
        capa = Capa(
            number=number_next(prefix="CAPA"),
            kind=kind,
            problem=problem.strip(),
            source_label=label[:200],
            owner=owner,
            due_on=due_on,
            opened_by=actor,
        )
        if source is not None:
            capa.source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
            capa.source_id = str(source.pk)
        capa.save()
        if owner is not None and owner != actor:
            notify(
                recipients=[owner], template="capa_opened", context={"capa": capa},
                link=_link(capa),
            )  # fmt: skip
    return capa


def capa_record_root_cause(*, actor: Any, capa: Capa, method: str, root_cause: str) -> Capa:
    """Record the root-cause analysis (method and finding); the CAPA moves on to its actions.
    While the actions are under way the analysis may be refined."""
    problems = Problems()
    if method not in RootCauseMethod.values:
        problems.add("method", _("Choose the analysis method."))
    if not (root_cause or "").strip():
        problems.add("root_cause", _("Describe the root cause found."))
    problems.raise_if_any(_("The root cause was not recorded."))
    with transaction.atomic():
        return transition(
            capa, "record-root-cause", transitions=TRANSITIONS, actor=actor,
            changes={
                "root_cause_method": method, "root_cause": root_cause.strip(),
                "root_cause_at": timezone.now(), "root_cause_by": actor,
            },
        )  # fmt: skip


def capa_add_action(
    *, actor: Any, capa: Capa, description: str, owner: Any, due_on: datetime.date | None
) -> CapaAction:
    """Add an action with its owner and due date; the owner is told."""
    problems = Problems()
    if not (description or "").strip():
        problems.add("description", _("Describe what is to be done."))
    _check_owner(problems, "owner", owner, required=True)
    _check_due(problems, "due_on", due_on, required=True)
    problems.raise_if_any(_("The action was not added."))
    with transaction.atomic(), audit_context(actor=actor):
        capa = transition(capa, "add-action", transitions=TRANSITIONS, actor=actor)
        action = CapaAction(capa=capa, description=description.strip(), owner=owner,
                            due_on=due_on)  # fmt: skip
        action.save()
        if owner != actor:
            notify(
                recipients=[owner], template="capa_action_assigned",
                context={"capa": capa, "action": action}, link=_link(capa),
            )  # fmt: skip
    return action


def capa_complete_action(
    *, actor: Any, action: CapaAction, evidence_note: str, evidence_file: Any = None
) -> CapaAction:
    """The owner (or quality staff) marks an action done, with the evidence that it was."""
    if (
        actor is not None
        and actor.pk != action.owner_id
        and not actor.has_perm("quality.change_capa")
    ):
        raise PermissionDeniedError(_("Only the action's owner or quality staff may complete it."))
    problems = Problems()
    if not (evidence_note or "").strip() and not evidence_file:
        problems.add("evidence_note", _("Say (or attach) what shows the action was done."))
    _check_file(problems, "evidence_file", evidence_file)
    problems.raise_if_any(_("The action was not completed."))
    with transaction.atomic(), audit_context(actor=actor, action="complete-action"):
        # The CAPA's state is checked under its lock; the owner needs no CAPA permission.
        capa = Capa.objects.select_for_update().get(pk=action.capa_id)
        if capa.status not in TRANSITIONS["complete-action"].sources:
            raise InvalidTransitionError(
                _("%(number)s is %(status)s: its actions can no longer change.")
                % {"number": capa.number, "status": capa.get_status_display()}
            )
        locked = CapaAction.objects.select_for_update().get(pk=action.pk)
        if locked.done_at is not None:
            raise InvalidTransitionError(
                _("This action was already done on %(date)s.")
                % {"date": timezone.localtime(locked.done_at).strftime("%Y-%m-%d %H:%M")}
            )
        locked.done_at = timezone.now()
        locked.done_by = actor
        locked.evidence_note = (evidence_note or "").strip()
        if evidence_file:
            locked.evidence_file = evidence_file
        locked.save()
    return locked


def capa_submit_verification(*, actor: Any, capa: Capa) -> Capa:
    """Every action is done: the CAPA waits for the verification of its effectiveness."""
    with transaction.atomic():
        return transition(capa, "submit-verification", transitions=TRANSITIONS, actor=actor)


def capa_verify(
    *, actor: Any, capa: Capa, result: str, evidence: str, evidence_file: Any = None
) -> Capa:
    """Record whether the actions worked, with the evidence (who and when are the actor and
    now). Not effective: back to actions, to do more."""
    problems = Problems()
    if result not in VerificationResult.values:
        problems.add("result", _("Choose effective or not effective."))
    if not (evidence or "").strip():
        problems.add("evidence", _("Describe the evidence of the (in)effectiveness."))
    _check_file(problems, "evidence_file", evidence_file)
    problems.raise_if_any(_("The verification was not recorded."))
    target = S.VERIFICATION if result == VerificationResult.EFFECTIVE else S.ACTIONS
    changes: dict[str, Any] = {
        "verification_result": result, "verification_evidence": evidence.strip(),
        "verified_at": timezone.now(), "verified_by": actor,
    }  # fmt: skip
    if evidence_file:
        changes["verification_file"] = evidence_file
    with transaction.atomic():
        return transition(
            capa, "verify", transitions=TRANSITIONS, actor=actor, target=target, changes=changes
        )


def capa_close(*, actor: Any, capa: Capa, password: str, note: str = "") -> Capa:
    """The quality manager closes the verified CAPA by signing it (password re-entered); the
    signed CAPA is frozen."""
    from medservice.core.signatures import signature_sign

    with transaction.atomic():
        closed = transition(
            capa, "close", transitions=TRANSITIONS, actor=actor, reason=note,
            changes={"closed_at": timezone.now(), "closed_by": actor},
        )  # fmt: skip
        # A wrong password raises here and rolls the closure back with it.
        signature_sign(
            actor=actor, record=closed, password=password,
            meaning=gettext("CAPA closed: actions done and verified effective"),
        )  # fmt: skip
        closed.refresh_from_db()
    return closed


def capa_cancel(*, actor: Any, capa: Capa, reason: str) -> Capa:
    """Cancel a CAPA that is not to be pursued (a duplicate, raised in error), saying why."""
    if not (reason or "").strip():
        raise InvalidInputError(
            _("Say why the CAPA is cancelled."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        return transition(
            capa, "cancel", transitions=TRANSITIONS, actor=actor, reason=reason.strip(),
            changes={"cancelled_at": timezone.now(), "cancel_reason": reason.strip()[:300]},
        )  # fmt: skip


def capas_of_source(source: Any) -> QuerySet[Capa]:
    """The CAPAs raised by one record (a case, a signal...)."""
    return Capa.objects.filter(
        source_type=ContentType.objects.get_for_model(source, for_concrete_model=True),
        source_id=str(source.pk),
    )


def capa_overdue_action_sweep(*, today: datetime.date | None = None) -> dict[str, int]:
    """Remind each owner of an overdue action of a live CAPA, at most once per local day:
    the day is claimed on the row before the reminder is written, so a second run the same
    day (or a second scheduler) sends nothing."""
    today = today or timezone.localdate()
    reminded = 0
    overdue = (
        CapaAction.objects.filter(
            done_at__isnull=True, due_on__lt=today, capa__status__in=OPEN_CAPA_STATUSES
        )
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
        .select_related("capa", "owner")
        .order_by("due_on", "pk")
    )
    for action in overdue:
        with transaction.atomic():
            claimed = (
                CapaAction.objects.filter(pk=action.pk)
                .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
                .update(reminded_on=today)
            )
            if not claimed:
                continue
            notify(
                recipients=[action.owner], template="capa_action_overdue",
                context={"capa": action.capa, "action": action,
                         "days": (today - action.due_on).days},
                link=_link(action.capa),
            )  # fmt: skip
        reminded += 1
    return {"reminded": reminded}
