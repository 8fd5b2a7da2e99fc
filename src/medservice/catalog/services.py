"""Catalogue rules: what a valid certificate number, licence, fault code and acceptance check
look like; whether a supplier may supply and a model may be delivered on a given day; and the
expiry warnings to the quality team (REGULATORY.md, integrity controls: "warnings before
qualifications, certificates and products expire, and a lock once expired").

Later apps (deliveries, purchase orders, returns) ask `supplier_may_supply` and
`device_model_may_supply` before they act.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.accounts.choices import Role
from medservice.catalog.choices import LicenceKind, ValidityStatus
from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    ExpiryWarning,
    FaultCode,
    Supplier,
    SupplierLicence,
)
from medservice.catalog.validators import (
    normalize_registration_number,
    registration_number_problems,
)
from medservice.core.errors import InvalidInputError
from medservice.core.notifications import notify
from medservice.core.services import record_create, record_update

# Licences that allow a supplier to put medical devices on the market: a distributor's
# operation permit (class III) or filing (class II), or a manufacturer's production permit.
SUPPLY_AUTHORISATIONS = (
    LicenceKind.OPERATION_PERMIT,
    LicenceKind.OPERATION_FILING,
    LicenceKind.PRODUCTION_PERMIT,
)
# Licences whose expiry locks the supplier (GSP); the others (quality agreement, other files)
# are warned about but do not lock.
LOCKING_KINDS = (LicenceKind.BUSINESS_LICENCE, *SUPPLY_AUTHORISATIONS)


def expiry_warning_days() -> tuple[int, ...]:
    """Days ahead of an expiry at which the quality team is warned, largest first (issue 3:
    60 and 30; a setting so a company can warn earlier)."""
    days = getattr(settings, "MEDSERVICE_EXPIRY_WARNING_DAYS", (60, 30))
    return tuple(sorted({int(day) for day in days}, reverse=True))


@dataclass(frozen=True)
class Validity:
    """Where one licence or certificate (or a supplier's set of them) stands on a day."""

    status: str
    record: Any = None
    expires_on: datetime.date | None = None
    days_left: int | None = None
    # The tightest warning threshold already reached (30 of 60, 30), when expiring.
    threshold: int | None = None


def _today(on: datetime.date | None) -> datetime.date:
    return on or timezone.localdate()


def _validity_until(expires_on: datetime.date | None, on: datetime.date, record: Any) -> Validity:
    if expires_on is None:
        return Validity(ValidityStatus.VALID, record)
    days_left = (expires_on - on).days
    if days_left < 0:
        return Validity(ValidityStatus.EXPIRED, record, expires_on, days_left)
    reached = [days for days in expiry_warning_days() if days_left <= days]
    if reached:
        return Validity(ValidityStatus.EXPIRING, record, expires_on, days_left, min(reached))
    return Validity(ValidityStatus.VALID, record, expires_on, days_left)


def licence_validity(licence: SupplierLicence, *, on: datetime.date | None = None) -> Validity:
    """One licence on its own (a licence not yet in force counts as missing)."""
    day = _today(on)
    if licence.valid_from is not None and licence.valid_from > day:
        return Validity(ValidityStatus.MISSING, licence)
    return _validity_until(licence.valid_until, day, licence)


def _best_of_kind(licences: list[SupplierLicence], day: datetime.date) -> SupplierLicence:
    """The licence of one kind that decides: among those in force the one lasting longest (a
    renewal supersedes the old one); else the one that expired last (a renewal that has not
    started yet does not cover the gap); else the next to start."""
    in_force = [licence for licence in licences if licence.is_valid_on(day)]
    if in_force:
        return max(in_force, key=lambda licence: licence.valid_until or datetime.date.max)
    expired = [licence for licence in licences if licence.valid_until and licence.valid_until < day]
    if expired:
        return max(expired, key=lambda licence: licence.valid_until)
    return min(licences, key=lambda licence: licence.valid_from or datetime.date.min)


def supplier_licence_validity(supplier: Supplier, *, on: datetime.date | None = None) -> Validity:
    """Where the supplier stands, each kind of locking licence judged by its best licence:
    expired if any has expired; missing without an operation permit, filing or production
    permit in force; expiring if one reaches a warning threshold (the soonest decides); else
    valid. Reads `supplier.licences.all()`, so a list that prefetches `licences` pays no query
    per supplier."""
    day = _today(on)
    by_kind: dict[str, list[SupplierLicence]] = {}
    for licence in supplier.licences.all():
        if licence.kind in LOCKING_KINDS:
            by_kind.setdefault(licence.kind, []).append(licence)
    results = [
        licence_validity(_best_of_kind(licences, day), on=day) for licences in by_kind.values()
    ]
    expired = [result for result in results if result.status == ValidityStatus.EXPIRED]
    if expired:
        return min(expired, key=lambda result: result.expires_on)
    current = [
        result
        for result in results
        if result.status in (ValidityStatus.VALID, ValidityStatus.EXPIRING)
    ]
    if not any(result.record.kind in SUPPLY_AUTHORISATIONS for result in current):
        return Validity(ValidityStatus.MISSING)
    return min(
        current,
        key=lambda result: (
            result.status != ValidityStatus.EXPIRING,
            result.expires_on or datetime.date.max,
        ),
    )


def supplier_licence_status(supplier: Supplier, *, on: datetime.date | None = None) -> str:
    """valid / expiring / expired / missing (a ValidityStatus value)."""
    return supplier_licence_validity(supplier, on=on).status


def supplier_may_supply(supplier: Supplier, *, on: datetime.date | None = None) -> tuple[bool, str]:
    """Whether new deliveries and purchase orders may name this supplier on a day, and why
    not; an expiring licence is allowed with a note the caller may show."""
    validity = supplier_licence_validity(supplier, on=on)
    if validity.status == ValidityStatus.MISSING:
        return False, _(
            "%(supplier)s is locked: no medical device operation permit, operation filing or "
            "production permit in force is on file."
        ) % {"supplier": supplier}
    licence = validity.record
    if validity.status == ValidityStatus.EXPIRED:
        return False, _(
            "%(supplier)s is locked: its %(licence)s %(number)s expired on %(date)s."
        ) % {
            "supplier": supplier,
            "licence": licence.get_kind_display(),
            "number": licence.number,
            "date": validity.expires_on.isoformat(),
        }
    if validity.status == ValidityStatus.EXPIRING:
        return True, _(
            "The %(licence)s %(number)s of %(supplier)s expires on %(date)s (in %(days)d days)."
        ) % {
            "supplier": supplier,
            "licence": licence.get_kind_display(),
            "number": licence.number,
            "date": validity.expires_on.isoformat(),
            "days": validity.days_left,
        }
    return True, ""


def device_model_registration_validity(
    device_model: DeviceModel, *, on: datetime.date | None = None
) -> Validity:
    """The model's registration certificate or filing on a day: missing without a number,
    otherwise by its validity date (a filing, or a date not recorded, does not expire)."""
    if not device_model.registration_number:
        return Validity(ValidityStatus.MISSING, device_model)
    return _validity_until(device_model.registration_valid_until, _today(on), device_model)


def device_model_registration_status(
    device_model: DeviceModel, *, on: datetime.date | None = None
) -> str:
    return device_model_registration_validity(device_model, on=on).status


def device_model_may_supply(
    device_model: DeviceModel, *, on: datetime.date | None = None
) -> tuple[bool, str]:
    """Whether the model may be delivered on a day: not without a certificate or filing on
    file, nor after its certificate expired."""
    validity = device_model_registration_validity(device_model, on=on)
    if validity.status == ValidityStatus.MISSING:
        return False, _(
            "%(model)s is locked: no registration certificate or filing number is on file."
        ) % {"model": device_model}
    if validity.status == ValidityStatus.EXPIRED:
        return False, _(
            "%(model)s is locked: its registration certificate %(number)s expired on %(date)s."
        ) % {
            "model": device_model,
            "number": device_model.registration_number,
            "date": validity.expires_on.isoformat(),
        }
    if validity.status == ValidityStatus.EXPIRING:
        return True, _(
            "The registration certificate %(number)s of %(model)s expires on %(date)s "
            "(in %(days)d days)."
        ) % {
            "model": device_model,
            "number": device_model.registration_number,
            "date": validity.expires_on.isoformat(),
            "days": validity.days_left,
        }
    return True, ""


# --- writes ---------------------------------------------------------------------------------


def _refuse(model: type, problems: dict[str, list[str]]) -> None:
    problems = {name: messages for name, messages in problems.items() if messages}
    if problems:
        raise InvalidInputError(
            _("The %(kind)s was not saved: please correct the marked fields.")
            % {"kind": model._meta.verbose_name},
            fields=problems,
        )


def _merged(instance: Any, data: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The values an update would leave, for rules that read several fields."""
    return {name: data[name] if name in data else getattr(instance, name) for name in names}


def device_model_problems(
    values: dict[str, Any], *, instance: DeviceModel | None = None
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    problems["registration_number"] = registration_number_problems(
        values.get("registration_number") or "", values.get("risk_class") or ""
    )
    if (
        values.get("registration_valid_until")
        and not values.get("registration_number")
        and not problems["registration_number"]
    ):
        problems["registration_number"].append(
            _("Enter the certificate number that this validity date belongs to.")
        )
    udi_di = (values.get("udi_di") or "").strip()
    if udi_di:
        taken = DeviceModel.objects.filter(udi_di=udi_di)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            problems["udi_di"] = [_("Another device model already has this UDI-DI.")]
    return problems


DEVICE_MODEL_RULE_FIELDS = (
    "registration_number",
    "registration_valid_until",
    "risk_class",
    "udi_di",
)


def _normalize_device_model(data: dict[str, Any]) -> dict[str, Any]:
    if "registration_number" in data:
        data["registration_number"] = normalize_registration_number(data["registration_number"])
    if "udi_di" in data:
        data["udi_di"] = (data["udi_di"] or "").strip()
    return data


def device_model_create(
    *, actor: Any, model: type[DeviceModel] = DeviceModel, data: dict[str, Any]
) -> DeviceModel:
    data = _normalize_device_model(dict(data))
    _refuse(DeviceModel, device_model_problems(data))
    return record_create(actor=actor, model=DeviceModel, data=data)


def device_model_update(
    *,
    actor: Any,
    instance: DeviceModel,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> DeviceModel:
    data = _normalize_device_model(dict(data))
    values = _merged(instance, data, DEVICE_MODEL_RULE_FIELDS)
    _refuse(DeviceModel, device_model_problems(values, instance=instance))
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


def licence_date_problems(
    valid_from: datetime.date | None, valid_until: datetime.date | None
) -> dict[str, list[str]]:
    if valid_from and valid_until and valid_until < valid_from:
        return {
            "valid_until": [
                _("The licence cannot end (%(until)s) before it starts (%(start)s).")
                % {"until": valid_until.isoformat(), "start": valid_from.isoformat()}
            ]
        }
    return {}


def supplier_licence_create(
    *, actor: Any, model: type[SupplierLicence] = SupplierLicence, data: dict[str, Any]
) -> SupplierLicence:
    data = dict(data)
    data["number"] = normalize_registration_number(data.get("number", ""))
    _refuse(SupplierLicence, licence_date_problems(data.get("valid_from"), data.get("valid_until")))
    return record_create(actor=actor, model=SupplierLicence, data=data)


def supplier_licence_update(
    *,
    actor: Any,
    instance: SupplierLicence,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> SupplierLicence:
    data = dict(data)
    if "number" in data:
        data["number"] = normalize_registration_number(data["number"])
    values = _merged(instance, data, ("valid_from", "valid_until"))
    _refuse(SupplierLicence, licence_date_problems(values["valid_from"], values["valid_until"]))
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


def fault_code_problems(
    values: dict[str, Any], *, instance: FaultCode | None = None
) -> dict[str, list[str]]:
    """A code's parent is in the same product line and never the code itself or below it."""
    parent = values.get("parent")
    line = values.get("product_line")
    if parent is None:
        return {}
    if line is not None and parent.product_line_id != line.pk:
        return {
            "parent": [
                _("The parent code %(parent)s belongs to another product line.")
                % {"parent": parent}
            ]
        }
    if instance is not None and instance.pk is not None:
        seen: set[int] = set()
        ancestor: FaultCode | None = parent
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == instance.pk:
                return {"parent": [_("A fault code cannot sit below itself.")]}
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
    return {}


def fault_code_create(
    *, actor: Any, model: type[FaultCode] = FaultCode, data: dict[str, Any]
) -> FaultCode:
    _refuse(FaultCode, fault_code_problems(data))
    return record_create(actor=actor, model=FaultCode, data=dict(data))


def fault_code_update(
    *,
    actor: Any,
    instance: FaultCode,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> FaultCode:
    values = _merged(instance, data, ("parent", "product_line"))
    _refuse(FaultCode, fault_code_problems(values, instance=instance))
    return record_update(
        actor=actor, instance=instance, data=dict(data), expected_version=expected_version
    )


def acceptance_item_problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """A measured check has an expected value and a non-negative tolerance; a pass/fail check
    has neither."""
    expected, tolerance = values.get("expected_value"), values.get("tolerance")
    if values.get("pass_fail_only"):
        problems = {}
        if expected is not None:
            problems["expected_value"] = [_("A pass / fail check has no expected value.")]
        if tolerance is not None:
            problems["tolerance"] = [_("A pass / fail check has no tolerance.")]
        return problems
    problems = {}
    if expected is None:
        problems["expected_value"] = [
            _("Enter the expected value, or mark the check as pass / fail only.")
        ]
    if tolerance is not None and tolerance < 0:
        problems["tolerance"] = [_("The tolerance is a ± amount and cannot be negative.")]
    return problems


ACCEPTANCE_RULE_FIELDS = ("expected_value", "tolerance", "pass_fail_only")


def acceptance_item_create(
    *,
    actor: Any,
    model: type[AcceptanceTestItem] = AcceptanceTestItem,
    data: dict[str, Any],
) -> AcceptanceTestItem:
    _refuse(AcceptanceTestItem, acceptance_item_problems(data))
    return record_create(actor=actor, model=AcceptanceTestItem, data=dict(data))


def acceptance_item_update(
    *,
    actor: Any,
    instance: AcceptanceTestItem,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> AcceptanceTestItem:
    _refuse(
        AcceptanceTestItem,
        acceptance_item_problems(_merged(instance, data, ACCEPTANCE_RULE_FIELDS)),
    )
    return record_update(
        actor=actor, instance=instance, data=dict(data), expected_version=expected_version
    )


# --- expiry warnings ------------------------------------------------------------------------


def quality_team() -> list[Any]:
    """Who is warned of expiring licences and certificates: quality staff and manager."""
    from medservice.accounts.models import User

    return list(
        User.objects.filter(
            is_active=True,
            groups__name__in=[str(Role.QUALITY_STAFF), str(Role.QUALITY_MANAGER)],
        )
        .distinct()
        .order_by("pk")
    )


def expiry_warn_once(
    record: Any,
    *,
    expires_on: datetime.date,
    on: datetime.date,
    recipients: list[Any],
    template: str,
    context: dict[str, Any],
    link: str,
    thresholds: Iterable[int] | None = None,
) -> bool:
    """Send one warning for the tightest threshold reached and not yet warned of; a record
    that enters the window late (25 days left) gets the 30-day warning only, and the 60-day
    one is marked as passed so it never follows. Thresholds default to the licence and
    certificate warnings; later apps pass their own (part lots, instrument calibrations)."""
    days_left = (expires_on - on).days
    chosen = expiry_warning_days() if thresholds is None else tuple(thresholds)
    reached = [days for days in chosen if days_left <= days]
    if not reached:
        return False
    content_type = ContentType.objects.get_for_model(record)
    done = set(
        ExpiryWarning.objects.filter(
            content_type=content_type, object_id=record.pk, expires_on=expires_on
        ).values_list("threshold_days", flat=True)
    )
    due = [days for days in reached if days not in done]
    if not due:
        return False
    try:
        with transaction.atomic():
            # The unique constraint makes a second scheduler (or a rerun after a crash that
            # committed) fail here instead of warning twice.
            ExpiryWarning.objects.bulk_create(
                [
                    ExpiryWarning(
                        content_type=content_type,
                        object_id=record.pk,
                        expires_on=expires_on,
                        threshold_days=days,
                        sent_on=on,
                        recipient_count=len(recipients),
                    )
                    for days in due
                ]
            )
            notify(
                recipients=recipients,
                template=template,
                context={
                    **context,
                    "expires_on": expires_on,
                    "days_left": days_left,
                    "threshold": min(due),
                },
                link=link,
            )
    except IntegrityError:
        return False
    return True


def expiry_warnings_send(*, on: datetime.date | None = None) -> int:
    """Warn the quality team of every supplier licence and registration certificate that
    reaches a warning threshold; returns how many records were warned of. Safe to run twice."""
    day = _today(on)
    recipients = quality_team()
    if not recipients:
        # Nobody to tell yet: keep the warnings due, so the first quality user still gets them.
        return 0
    horizon = day + datetime.timedelta(days=max(expiry_warning_days()))
    warned = 0
    renewed = SupplierLicence.objects.filter(
        supplier=OuterRef("supplier"), kind=OuterRef("kind")
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=OuterRef("valid_until")))
    licences = (
        SupplierLicence.objects.filter(valid_until__gte=day, valid_until__lte=horizon)
        .exclude(Exists(renewed))
        .select_related("supplier")
        .order_by("valid_until", "pk")
    )
    for licence in licences:
        warned += expiry_warn_once(
            licence,
            expires_on=licence.valid_until,
            on=day,
            recipients=recipients,
            template="catalog_licence_expiring",
            context={"licence": licence, "supplier": licence.supplier},
            link=reverse("catalog:suppliers-detail", kwargs={"pk": licence.supplier_id}),
        )
    device_models = (
        DeviceModel.objects.filter(
            registration_valid_until__gte=day, registration_valid_until__lte=horizon
        )
        .exclude(registration_number="")
        .select_related("manufacturer")
        .order_by("registration_valid_until", "pk")
    )
    for device_model in device_models:
        warned += expiry_warn_once(
            device_model,
            expires_on=device_model.registration_valid_until,
            on=day,
            recipients=recipients,
            template="catalog_registration_expiring",
            context={"device_model": device_model},
            link=reverse("catalog:device-models-detail", kwargs={"pk": device_model.pk}),
        )
    return warned
