"""Controlled service documents (受控文件): a document (manual, procedure, checklist, form) has
versions; a version is drafted with its file, approved by a signature (the approver re-enters
their password, and may not be one of the people who wrote it), becomes effective on a date,
and is superseded — kept, never deleted — when a newer approved version takes effect.

Which version is in force on a day is decided by dates, not by the stored status:
`document_version_current(document, on=day)` answers with the signed version whose
`effective_on` is the latest on or before the day and that had not yet stopped being in force
(`superseded_on`, also the day a withdrawn version stopped). So a version approved to take
effect next week leaves the present one current until then, whatever the status columns say.

The statuses follow the dates so that lists and filters read right: approving a version that
is effective today supersedes its predecessor at once; one effective later is superseded by
the daily job `document_versions_supersede_due` (idempotent, safe to run twice), and every
approval or withdrawal first brings its document up to date. A status that lags a day behind
therefore never changes which version a work order records.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.attachments import attachment_check
from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.models import AuditEvent
from medservice.core.services import record_create, record_update
from medservice.core.signatures import signature_sign
from medservice.training.choices import DocumentVersionStatus
from medservice.training.models import ControlledDocument, DocumentVersion

APPROVE_PERMISSION = "training.approve_documentversion"
# The versions that were once approved and signed: the ones that can have been in force.
SIGNED_STATUSES = (
    DocumentVersionStatus.APPROVED,
    DocumentVersionStatus.SUPERSEDED,
    DocumentVersionStatus.WITHDRAWN,
)
VERSION_CONTENT_FIELDS = ("version_label", "file", "change_summary", "effective_on")


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is None or not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _today() -> datetime.date:
    return timezone.localdate()


# --- Documents ------------------------------------------------------------------------------


def _document_problems(data: dict[str, Any]) -> Problems:
    problems = Problems()
    for name in ("code", "title"):
        if name in data and not str(data[name] or "").strip():
            problems.add(name, _("Required."))
    return problems


def document_create(
    *, actor: Any, data: dict[str, Any], model: type[ControlledDocument] = ControlledDocument
) -> ControlledDocument:
    """Register a controlled document by its code; its content comes with its versions."""
    _require(actor, "training.add_controlleddocument", _("You may not add controlled documents."))
    data = {key: value for key, value in data.items() if key != "version"}
    for name in ("code", "title"):
        data.setdefault(name, "")
        data[name] = str(data[name] or "").strip()
    _document_problems(data).raise_if_any(_("The document was not saved."))
    return record_create(actor=actor, model=ControlledDocument, data=data)


def document_update(
    *,
    actor: Any,
    instance: ControlledDocument,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ControlledDocument:
    """Change the document's register entry (title, kind, models, owner); never its versions."""
    _require(
        actor, "training.change_controlleddocument", _("You may not change controlled documents.")
    )
    data = {key: value for key, value in data.items() if key != "version"}
    _document_problems(data).raise_if_any(_("The document was not saved."))
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


# --- Drafting versions ----------------------------------------------------------------------


def _version_problems(
    *,
    document: ControlledDocument,
    version_label: str,
    file: Any,
    effective_on: datetime.date | None,
    excluding: DocumentVersion | None = None,
    file_required: bool = True,
) -> Problems:
    problems = Problems()
    if not version_label:
        problems.add("version_label", _("Give the version a label, for example A/1."))
    else:
        clash = DocumentVersion.objects.filter(document=document, version_label=version_label)
        if excluding is not None:
            clash = clash.exclude(pk=excluding.pk)
        if clash.exists():
            problems.add("version_label", _("This document already has a version with this label."))
    if file_required and not file:
        problems.add("file", _("Attach the version's file."))
    elif isinstance(file, UploadedFile):
        try:
            attachment_check(file, field="file")
        except InvalidInputError as error:
            for message in error.fields.get("file", [error.message]):
                problems.add("file", message)
    if effective_on is not None and effective_on < _today():
        problems.add("effective_on", _("A version cannot take effect before today."))
    return problems


def document_version_add(
    *,
    actor: Any,
    document: ControlledDocument,
    version_label: str,
    file: Any,
    change_summary: str = "",
    effective_on: datetime.date | None = None,
) -> DocumentVersion:
    """Draft a new version of `document` with its file; the proposed effective date may be
    changed by the approver. The file's type is read from its content (PDF, scans, photos)."""
    _require(actor, "training.add_documentversion", _("You may not add document versions."))
    version_label = (version_label or "").strip()
    _version_problems(
        document=document, version_label=version_label, file=file, effective_on=effective_on
    ).raise_if_any(_("The version was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        version = DocumentVersion(
            document=document,
            version_label=version_label,
            file=file,
            change_summary=(change_summary or "").strip(),
            effective_on=effective_on,
            status=DocumentVersionStatus.DRAFT,
        )
        version.save()
    return version


def document_version_update(
    *,
    actor: Any,
    instance: DocumentVersion,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> DocumentVersion:
    """Change a draft's label, file, summary or proposed date. Once approved, a version's
    content is frozen (signed): a correction is a new version (409 here)."""
    _require(actor, "training.change_documentversion", _("You may not change document versions."))
    if instance.status != DocumentVersionStatus.DRAFT or instance.is_frozen:
        raise InvalidTransitionError(
            _("%(version)s is %(status)s: only a draft can be edited; add a new version instead.")
            % {"version": instance, "status": instance.get_status_display()}
        )
    changes = {key: value for key, value in data.items() if key in VERSION_CONTENT_FIELDS}
    if "version_label" in changes:
        changes["version_label"] = (changes["version_label"] or "").strip()
    if "change_summary" in changes:
        changes["change_summary"] = (changes["change_summary"] or "").strip()
    _version_problems(
        document=instance.document,
        version_label=changes.get("version_label", instance.version_label),
        file=changes.get("file", instance.file),
        effective_on=changes.get("effective_on"),
        excluding=instance,
    ).raise_if_any(_("The version was not saved."))
    with transaction.atomic():
        current = DocumentVersion.objects.select_for_update().get(pk=instance.pk)
        if current.status != DocumentVersionStatus.DRAFT:
            # Approved between reading and saving: the signed content must not move.
            raise InvalidTransitionError(
                _("%(version)s was approved meanwhile; add a new version instead.")
                % {"version": current}
            )
        return record_update(
            actor=actor, instance=current, data=changes, expected_version=expected_version
        )


# --- Approval, supersession, withdrawal -----------------------------------------------------


def document_version_authors(version: DocumentVersion) -> set[int]:
    """The people who wrote the version's content: whoever created or edited it before it
    was signed, read from the audit trail (the version has no author column)."""
    return set(
        AuditEvent.objects.filter(
            object_type=DocumentVersion._meta.label_lower,
            object_id=str(version.pk),
            action__in=[AuditAction.CREATE, AuditAction.UPDATE],
            actor__isnull=False,
        ).values_list("actor_id", flat=True)
    )


def document_version_approval_refusal(version: DocumentVersion, actor: Any) -> str:
    """Why `actor` may not approve `version` now, or "" when they may: the page shows the
    approve form only when this is empty, and the service raises the same reasons."""
    if version.status != DocumentVersionStatus.DRAFT:
        return _("%(version)s is %(status)s: only a draft can be approved.") % {
            "version": version,
            "status": version.get_status_display(),
        }
    if actor is None or not actor.has_perm(APPROVE_PERMISSION):
        return _("You may not approve controlled documents.")
    if actor.pk in document_version_authors(version):
        return _("You wrote this version: someone else must approve it (four eyes).")
    return ""


def document_version_approve(
    *,
    actor: Any,
    version: DocumentVersion,
    password: str,
    effective_on: datetime.date | None = None,
) -> DocumentVersion:
    """Approve a draft for use with the approver's electronic signature (password re-entered,
    meaning "Approved for use"). It takes effect on `effective_on` — the date proposed on the
    draft if not given, today if that has passed; never before today, never before a version
    of the same document already approved (a version approved to take effect later would
    otherwise hide it). When it takes effect the version in force before it is superseded."""
    today = _today()
    with transaction.atomic():
        locked = DocumentVersion.objects.select_for_update().get(pk=version.pk)
        refusal = document_version_approval_refusal(locked, actor)
        if refusal:
            if locked.status != DocumentVersionStatus.DRAFT:
                raise InvalidTransitionError(refusal)
            raise PermissionDeniedError(refusal)
        day = effective_on or max(locked.effective_on or today, today)
        problems = Problems()
        if day < today:
            problems.add("effective_on", _("A version cannot take effect before today."))
        latest = (
            DocumentVersion.objects.filter(
                document_id=locked.document_id, status=DocumentVersionStatus.APPROVED
            )
            .order_by("-effective_on")
            .values_list("effective_on", flat=True)
            .first()
        )
        if latest is not None and day < latest:
            problems.add(
                "effective_on",
                _(
                    "Another version of this document takes effect on %(date)s: this one cannot "
                    "take effect before it. Withdraw that version first if this one replaces it."
                )
                % {"date": latest.isoformat()},
            )
        problems.raise_if_any(_("The version was not approved."))
        # The approver and the date are part of what is signed, so they are set first; the
        # signature (which checks the password) then freezes them, or the whole block rolls
        # back and nothing changed.
        locked.status = DocumentVersionStatus.APPROVED
        locked.approved_by = actor
        locked.effective_on = day
        with audit_context(actor=actor, action="approve"):
            locked.save(update_fields=["status", "approved_by", "effective_on"])
        signature_sign(actor=actor, record=locked, meaning=_("Approved for use"), password=password)
        with audit_context(actor=actor):
            _supersede(locked.document, on=today)
    version.refresh_from_db()
    return version


def _supersede(document: ControlledDocument, *, on: datetime.date) -> int:
    """Mark superseded every approved version of `document` whose successor has taken effect
    by `on`, superseded on the successor's effective date. Idempotent."""
    chain = list(
        DocumentVersion.objects.select_for_update()
        .filter(
            document=document,
            signed_at__isnull=False,
            status__in=[DocumentVersionStatus.APPROVED, DocumentVersionStatus.SUPERSEDED],
        )
        .order_by("effective_on", "signed_at", "pk")
    )
    count = 0
    for position, version in enumerate(chain[:-1]):
        successor = chain[position + 1]
        if version.status != DocumentVersionStatus.APPROVED or successor.effective_on > on:
            continue
        version.status = DocumentVersionStatus.SUPERSEDED
        version.superseded_on = successor.effective_on
        with audit_context(action="supersede"):
            version.save(update_fields=["status", "superseded_on"])
        count += 1
    return count


def document_versions_supersede_due(*, on: datetime.date | None = None) -> int:
    """The daily job: supersede the versions whose successors took effect by `on` (today).
    Returns how many were superseded; running it again changes nothing."""
    day = on or _today()
    documents = ControlledDocument.objects.annotate(
        approved=Count("versions", filter=Q(versions__status=DocumentVersionStatus.APPROVED))
    ).filter(approved__gte=2)
    count = 0
    with audit_context(job="training.documents-supersede"):
        for document in documents:
            with transaction.atomic():
                count += _supersede(document, on=day)
    return count


def document_version_withdraw(
    *, actor: Any, version: DocumentVersion, reason: str
) -> DocumentVersion:
    """Withdraw a draft (abandoned) or an approved version (must no longer be used), with the
    reason in the audit trail. An approved version stops being in force today (kept, its
    `superseded_on` says when it stopped); the version before it does not come back."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError(
            _("Say why the version is withdrawn."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        locked = DocumentVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status not in {DocumentVersionStatus.DRAFT, DocumentVersionStatus.APPROVED}:
            raise InvalidTransitionError(
                _("%(version)s is %(status)s and cannot be withdrawn.")
                % {"version": locked, "status": locked.get_status_display()}
            )
        # Withdrawing an approved version is a quality decision; a draft, its editors'.
        permission = (
            APPROVE_PERMISSION
            if locked.status == DocumentVersionStatus.APPROVED
            else "training.change_documentversion"
        )
        _require(actor, permission, _("You may not withdraw this version."))
        today = _today()
        if locked.status == DocumentVersionStatus.APPROVED:
            with audit_context(actor=actor):
                _supersede(locked.document, on=today)
            locked.refresh_from_db()
        changes = ["status"]
        if locked.status == DocumentVersionStatus.APPROVED:
            locked.superseded_on = today
            changes.append("superseded_on")
        locked.status = DocumentVersionStatus.WITHDRAWN
        with audit_context(actor=actor, action="withdraw", reason=reason):
            locked.save(update_fields=changes)
    version.refresh_from_db()
    return version


# --- Reads ----------------------------------------------------------------------------------


def document_versions_in_force(*, on: datetime.date) -> QuerySet[DocumentVersion]:
    """Signed versions that had taken effect on `on` and had not stopped by then."""
    return DocumentVersion.objects.filter(
        signed_at__isnull=False,
        status__in=SIGNED_STATUSES,
        effective_on__lte=on,
    ).filter(Q(superseded_on__isnull=True) | Q(superseded_on__gt=on))


def document_version_current(
    document: ControlledDocument, *, on: datetime.date | None = None
) -> DocumentVersion | None:
    """The version of `document` in force on `on` (default today): the approved version with
    the latest effective date on or before it; None when none was. The work orders record it
    as the version they followed."""
    day = on or _today()
    return (
        document_versions_in_force(on=day)
        .filter(document=document)
        .order_by("-effective_on", "-signed_at", "-pk")
        .first()
    )


def document_version_upcoming(document: ControlledDocument) -> DocumentVersion | None:
    """An approved version that takes effect after today, if any (shown on the page)."""
    return (
        DocumentVersion.objects.filter(
            document=document,
            status=DocumentVersionStatus.APPROVED,
            effective_on__gt=_today(),
        )
        .order_by("effective_on", "pk")
        .first()
    )
