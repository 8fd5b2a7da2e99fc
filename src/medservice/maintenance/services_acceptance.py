"""Installation and acceptance (安装调试 / 验收): an installation work order per delivered unit,
its checklist being the model's acceptance test; the customer's signed acceptance sets the
device's acceptance date (installed_base's device_accept), from which its warranty runs; the
documents handed over and the signed certificate's scan are kept with it."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
    Problems,
)
from medservice.core.numbering import number_next
from medservice.maintenance.choices import AcceptanceFileKind, InstallationStatus
from medservice.maintenance.models import AcceptanceFile, AcceptanceRecord, Installation
from medservice.maintenance.services import require

logger = logging.getLogger(__name__)

# Units that need installing: tracked one by one, powered equipment, not yet in use elsewhere.
INSTALLABLE_DEVICE_STATUSES = ("in_stock", "installed")


def installation_lookback_days() -> int:
    return int(getattr(settings, "MAINTENANCE_INSTALLATION_LOOKBACK_DAYS", 30))


# --- Installation -------------------------------------------------------------------------------


def _installable(device: Any) -> bool:
    model = device.device_model
    return (
        bool(device.serial_number)
        and model.product_type == "active"
        and not model.single_use
        and device.accepted_on is None
        and device.status in INSTALLABLE_DEVICE_STATUSES
    )


def _installation_work_order(device: Any, delivery: Any, *, actor: Any) -> Any:
    from medservice.work_orders.choices import WorkOrderKind, WorkOrderSource
    from medservice.work_orders.services import work_order_create

    items = list(device.device_model.acceptance_items.order_by("position", "pk"))
    checklist = "; ".join(item.name for item in items) or _("no checklist in the catalogue")
    return work_order_create(
        actor=actor,
        kind=WorkOrderKind.INSTALLATION,
        device=device,
        problem=_(
            "Install and commission (delivery %(delivery)s). Commissioning checklist: %(checklist)s."
        )
        % {"delivery": delivery.number if delivery else "—", "checklist": checklist},
        source=WorkOrderSource.MANUAL,
        source_reference=(delivery.number if delivery else "")[:50],
    )


def installation_open(*, actor: Any, device: Any, delivery: Any = None) -> Installation | None:
    """Open the installation work order of one unit, once: None when the unit needs none or
    already has one in hand; a cancelled installation gets a new work order."""
    require(actor, "maintenance.add_installation", _("You may not open installations."))
    if not _installable(device):
        return None
    with transaction.atomic():
        installation = Installation.objects.select_for_update().filter(device=device).first()
        if installation is not None and installation.status != InstallationStatus.CANCELLED:
            return None
        work_order = _installation_work_order(device, delivery, actor=actor)
        with audit_context(actor=actor):
            if installation is None:
                try:
                    with transaction.atomic():
                        installation = Installation.objects.create(
                            number=number_next(prefix="IN"),
                            device=device,
                            organization=device.organization,
                            delivery=delivery,
                            work_order=work_order,
                        )
                except IntegrityError:
                    # Another run opened it at the same moment: undo this work order too.
                    raise ConflictError(
                        _("%(device)s already has an installation.") % {"device": device}
                    ) from None
            else:
                installation.work_order = work_order
                installation.status = InstallationStatus.ORDERED
                installation.save()
    return installation


def installations_open_for_delivery(*, actor: Any, delivery: Any) -> list[Installation]:
    """Installation work orders for every unit of a delivery that needs one (on delivery)."""
    from medservice.installed_base.models import Device

    require(actor, "maintenance.add_installation", _("You may not open installations."))
    opened = []
    devices = Device.objects.filter(delivery_line__delivery=delivery).select_related(
        "device_model", "organization"
    )
    for device in devices.order_by("pk"):
        try:
            installation = installation_open(actor=actor, device=device, delivery=delivery)
        except DomainError as error:
            # One unit kept as evidence (or opened by another run) does not stop the others.
            logger.warning("No installation for %s: %s", device, error.message)
            continue
        if installation is not None:
            opened.append(installation)
    return opened


def installations_open_recent(*, today: datetime.date | None = None) -> int:
    """The job: deliveries of the last MAINTENANCE_INSTALLATION_LOOKBACK_DAYS days get their
    installation work orders; a second run opens none."""
    from medservice.installed_base.models import Delivery

    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=installation_lookback_days())
    opened = 0
    for delivery in Delivery.objects.filter(delivered_on__gte=since, delivered_on__lte=today):
        opened += len(installations_open_for_delivery(actor=None, delivery=delivery))
    return opened


def installation_commissioned(*, work_order: Any) -> Installation | None:
    """The installation work order is completed (its checklist passed): the unit is installed
    on the completion day, which starts its warranty until the customer's acceptance."""
    from medservice.installed_base.services import device_update

    with transaction.atomic():
        installation = (
            Installation.objects.select_for_update()
            .filter(work_order_id=work_order.pk, status=InstallationStatus.ORDERED)
            .first()
        )
        if installation is None:
            return None
        day = timezone.localdate(work_order.completed_at or timezone.now())
        with audit_context(actor=None, job="maintenance.installation-commissioned"):
            installation.status = InstallationStatus.COMMISSIONED
            installation.commissioned_on = day
            installation.save()
        device = installation.device
        if device.installed_on is None:
            try:
                with transaction.atomic():
                    device_update(actor=None, instance=device, data={"installed_on": day})
            except DomainError as error:
                logger.warning("Installation date of %s not set: %s", device, error.message)
    return installation


def installation_cancelled(*, work_order: Any) -> int:
    with transaction.atomic(), audit_context(actor=None, job="maintenance.installation-cancelled"):
        rows = list(
            Installation.objects.select_for_update().filter(
                work_order_id=work_order.pk, status=InstallationStatus.ORDERED
            )
        )
        for installation in rows:
            installation.status = InstallationStatus.CANCELLED
            installation.save()
    return len(rows)


# --- Acceptance ---------------------------------------------------------------------------------


def acceptance_create(
    *, actor: Any, model: type[AcceptanceRecord] = AcceptanceRecord, data: dict[str, Any]
) -> AcceptanceRecord:
    """Prepare the acceptance certificate of a device for the customer to sign: the date, the
    customer's printed name, and the documents handed over with the unit (certificate of
    conformity, registration certificate: its number is taken from the catalogue)."""
    require(actor, "maintenance.add_acceptancerecord", _("You may not record acceptances."))
    device = data.get("device")
    accepted_on = data.get("accepted_on")
    problems = Problems()
    if device is None:
        problems.add("device", _("Choose the device."))
    elif AcceptanceRecord.objects.filter(
        device=device, signed_at__isnull=False, supersedes__isnull=True
    ).exists():
        problems.add("device", _("%(device)s is already accepted.") % {"device": device})
    if accepted_on is None:
        problems.add("accepted_on", _("Give the acceptance date."))
    elif accepted_on > timezone.localdate():
        problems.add("accepted_on", _("The acceptance date cannot be in the future."))
    if not (data.get("customer_name") or "").strip():
        problems.add("customer_name", _("Give the printed name of the customer who accepts."))
    registration_handed = bool(data.get("registration_certificate_handed"))
    if registration_handed and device is not None and not device.device_model.registration_number:
        problems.add(
            "registration_certificate_handed",
            _("%(model)s has no registration certificate number in the catalogue.")
            % {"model": device.device_model},
        )
    problems.raise_if_any(_("The acceptance was not recorded."))
    installation = Installation.objects.filter(device=device).first()
    with transaction.atomic(), audit_context(actor=actor):
        record = AcceptanceRecord(
            number=number_next(prefix="AC"),
            device=device,
            organization=device.organization,
            installation=installation,
            accepted_on=accepted_on,
            customer_name=data["customer_name"].strip(),
            customer_title=(data.get("customer_title") or "").strip(),
            conformity_certificate_handed=bool(data.get("conformity_certificate_handed")),
            registration_certificate_handed=registration_handed,
            registration_number=device.device_model.registration_number
            if registration_handed
            else "",
            other_documents=(data.get("other_documents") or "").strip(),
            notes=(data.get("notes") or "").strip(),
            recorded_by=actor,
        )
        record.full_clean(exclude=["number"])
        record.save()
    return record


def acceptance_sign(
    *, actor: Any, acceptance: AcceptanceRecord, printed_name: str = ""
) -> AcceptanceRecord:
    """The customer signs the certificate (验收合格): in one transaction the device's acceptance
    date is set (its warranty restarts from it), the warranty is recorded on the certificate,
    the signature (printed name, time, meaning, content hash) is kept and the installation is
    accepted. Refused when already signed or the date does not fit the device's dates."""
    from medservice.core.choices import SignerKind
    from medservice.core.signatures import signature_sign
    from medservice.installed_base.services import device_accept, warranty_start

    require(
        actor,
        "maintenance.sign_acceptancerecord",
        _("You may not record the customer's acceptance."),
    )
    name = (printed_name or acceptance.customer_name or "").strip()
    if not name:
        message = _("Give the printed name of the customer who signs.")
        raise InvalidInputError(message, fields={"printed_name": [message]})
    with transaction.atomic():
        record = AcceptanceRecord.objects.select_for_update().get(pk=acceptance.pk)
        if record.signed_at is not None:
            raise InvalidTransitionError(_("%(record)s is already signed.") % {"record": record})
        device = device_accept(actor=actor, device=record.device, accepted_on=record.accepted_on)
        with audit_context(actor=actor):
            record.customer_name = name[:100]
            record.warranty_starts_on = warranty_start(device)
            record.warranty_ends_on = device.warranty_ends_on
            record.save()
        signature_sign(
            actor=actor,
            record=record,
            meaning=_("Accepted: the device is installed, commissioned and accepted (验收合格)."),
            printed_name=name,
            signer_kind=SignerKind.CUSTOMER,
        )
        if record.installation_id is not None:
            with audit_context(actor=actor):
                installation = Installation.objects.select_for_update().get(
                    pk=record.installation_id
                )
                installation.status = InstallationStatus.ACCEPTED
                installation.save()
    record.refresh_from_db()
    return record


def acceptance_file_attach(
    *, actor: Any, acceptance: AcceptanceRecord, upload: Any,
    kind: str = AcceptanceFileKind.SIGNED_CERTIFICATE,
) -> AcceptanceFile:  # fmt: skip
    """Keep the scan of the signed certificate (a photo or PDF, type read from the content)."""
    from medservice.core.attachments import attachment_check

    require(actor, "maintenance.add_acceptancefile", _("You may not add files to acceptances."))
    problems = Problems()
    if kind not in AcceptanceFileKind.values:
        problems.add("kind", _("Say what the file is."))
    if upload is None:
        problems.add("file", _("Choose a file."))
    problems.raise_if_any(_("The file was not added."))
    if kind == AcceptanceFileKind.SIGNED_CERTIFICATE and acceptance.signed_at is None:
        raise InvalidTransitionError(
            _("Record the customer's signature first, then attach the signed certificate."),
            fields={"file": [_("The acceptance is not signed yet.")]},
        )
    mime = attachment_check(upload)
    with transaction.atomic(), audit_context(actor=actor, action="attach"):
        return AcceptanceFile.objects.create(
            acceptance=acceptance,
            kind=kind,
            file=upload,
            content_type=mime,
            original_name=(getattr(upload, "name", "") or "file")[:255],
            uploaded_by=actor,
        )
