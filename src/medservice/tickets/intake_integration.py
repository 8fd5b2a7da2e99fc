"""Inbound intake from outside systems (issue 12): a call centre or a WeChat bridge registers a
service request with its API token (POST /api/v1/intake/tickets/).

Rules:
1. The integration's own reference (its call id, its message id) makes a delivery idempotent:
   the same reference from the same integration account is the same request, whether it is
   sent again later or twice at the same moment. The reference row is written first, inside
   the transaction that registers the request, so a concurrent second delivery waits on its
   unique index and then finds the first one's request; nothing is registered twice.
2. The caller, organisation and device are matched the way the service desk's caller look-up
   matches them (tickets.selectors.caller_lookup), within what the integration account may see:
   the device by serial, asset or UDI number; the organisation by its unified social credit
   code (the customer code); the contact by phone (its keyed hash) or e-mail. A hint only counts
   when it names exactly one record; a hint that contradicts the device is kept as an internal
   note, not as an error, because the caller is still waiting for an answer.
3. The request is registered by tickets.services.ticket_register, as from every other channel,
   so numbering, the service-promise clocks, auto-assignment and the acknowledgement run alike.
   Its refusals come back on the API's own field names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError
from medservice.tickets.choices import Channel, TimelineKind
from medservice.tickets.intake_email import kind_from_text
from medservice.tickets.models import IntakeReference, Ticket

logger = logging.getLogger(__name__)

JOB = "tickets.integration-intake"
PERMISSION = "tickets.add_ticket_via_integration"
# The channels an outside system can speak for; the portal, QR labels and walk-ins have their
# own intake and are never relayed.
INTEGRATION_CHANNELS = (
    Channel.PHONE,
    Channel.WECHAT,
    Channel.EMAIL,
    Channel.WEB_FORM,
    Channel.LETTER,
    Channel.REGULATOR,
)
# The service's field names, as the intake API calls them.
SERVICE_TO_API_FIELD = {
    "reporter_name": "caller_name",
    "reporter_phone": "caller_phone",
    "reporter_email": "caller_email",
    "contact": "caller_phone",
    "device": "serial_number",
    "organization": "customer_code",
    "serial_reported": "serial_number",
    "product_reported": "product",
}


@dataclass
class Match:
    """What the hints of one delivery matched, and what did not fit."""

    organization: Any = None
    contact: Any = None
    device: Any = None
    notes: list[str] | None = None


def _one(queryset: Any) -> Any:
    found = list(queryset[:2])
    return found[0] if len(found) == 1 else None


def hints_match(
    integration: Any,
    *,
    serial_number: str = "",
    customer_code: str = "",
    caller_phone: str = "",
    caller_email: str = "",
) -> Match:
    """The device, organisation and contact the hints name, each only when exactly one record
    the integration account may see fits (rule 2)."""
    from medservice.customers.selectors import (
        contacts_find_by_phone,
        contacts_visible_to,
        organizations_visible_to,
    )
    from medservice.installed_base.selectors import devices_visible_to

    notes: list[str] = []
    device = None
    serial_number = serial_number.strip()
    if serial_number:
        device = _one(
            devices_visible_to(integration)
            .filter(
                Q(serial_number__iexact=serial_number)
                | Q(asset_number__iexact=serial_number)
                | Q(udi_pi__iexact=serial_number)
            )
            .select_related("organization", "device_model")
        )
    organization = None
    customer_code = customer_code.strip().upper()
    if customer_code:
        organization = _one(organizations_visible_to(integration).filter(credit_code=customer_code))
    if device is not None and device.organization_id:
        if organization is not None and organization.pk != device.organization_id:
            notes.append(
                _(
                    "The customer code %(code)s names %(named)s, but device %(serial)s belongs "
                    "to %(owner)s; the device's owner was kept."
                )
                % {
                    "code": customer_code,
                    "named": organization,
                    "serial": serial_number,
                    "owner": device.organization,
                }
            )
        organization = device.organization
    candidates = contacts_visible_to(integration).none()
    if caller_phone.strip():
        candidates = contacts_find_by_phone(integration, caller_phone.strip())
    if not candidates.exists() and caller_email.strip():
        candidates = contacts_visible_to(integration).filter(email__iexact=caller_email.strip())
    if organization is not None:
        candidates = candidates.filter(organization=organization)
    contact = _one(candidates.select_related("organization"))
    if organization is None and contact is not None:
        organization = contact.organization
    return Match(organization=organization, contact=contact, device=device, notes=notes)


def _api_fields(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, messages in problems.items():
        fields.setdefault(SERVICE_TO_API_FIELD.get(name, name), []).extend(messages)
    return fields


def _existing(integration: Any, external_id: str) -> Ticket:
    return (
        IntakeReference.objects.select_related("ticket")
        .get(integration=integration, external_id=external_id, ticket__isnull=False)
        .ticket
    )


def integration_ticket_receive(*, integration: Any, data: dict[str, Any]) -> tuple[Ticket, bool]:
    """Register the request an outside system sends, or find the one it sent before under the
    same reference. Returns the request and whether it was created now. Raises
    InvalidInputError (fields named as the API names them) and saves nothing on bad input."""
    external_id = data["external_id"].strip()
    existing = IntakeReference.objects.filter(
        integration=integration, external_id=external_id, ticket__isnull=False
    ).first()
    if existing is not None:
        return existing.ticket, False
    match = hints_match(
        integration,
        serial_number=data.get("serial_number") or "",
        customer_code=data.get("customer_code") or "",
        caller_phone=data.get("caller_phone") or "",
        caller_email=data.get("caller_email") or "",
    )
    description = data["description"].strip()
    subject = (data.get("subject") or "").strip()
    ticket_data: dict[str, Any] = {
        "kind": data.get("kind") or kind_from_text(subject, description),
        "channel": data["channel"],
        "organization": match.organization,
        "contact": match.contact,
        "device": match.device,
        "reporter_name": (data.get("caller_name") or "").strip(),
        "reporter_phone": (data.get("caller_phone") or "").strip(),
        "reporter_email": (data.get("caller_email") or "").strip().lower(),
        "serial_reported": (data.get("serial_number") or "").strip(),
        "product_reported": (data.get("product") or "").strip(),
        "subject": subject,
        "description": description,
        "received_at": data.get("received_at"),
        "patient_involved": bool(data.get("patient_involved")),
        "injury": bool(data.get("injury")),
    }
    quality = {"stop_use_advised": True} if data.get("stop_use_advised") else None
    from medservice.tickets.services import ticket_register, timeline_add

    try:
        with transaction.atomic(), audit_context(actor=integration, job=JOB):
            try:
                with transaction.atomic():
                    reference = IntakeReference.objects.create(
                        integration=integration, external_id=external_id
                    )
            except IntegrityError:
                # Another delivery of the same reference registered it meanwhile (rule 1).
                return _existing(integration, external_id), False
            ticket = ticket_register(actor=integration, data=ticket_data, quality=quality)
            reference.ticket = ticket
            reference.caller_wechat_id = (data.get("caller_wechat_id") or "").strip()
            reference.save()
            timeline_add(
                ticket,
                kind=TimelineKind.NOTE,
                text=_("Received from %(integration)s under its reference %(reference)s.")
                % {"integration": integration.get_username(), "reference": external_id},
                actor=integration,
                at=ticket.received_at,
                data={"integration": integration.get_username(), "external_id": external_id},
            )
            for note in match.notes or []:
                timeline_add(ticket, kind=TimelineKind.NOTE, text=note, actor=integration)
    except InvalidInputError as error:
        fields = _api_fields(error.fields)
        message = (
            _("The request cannot be registered: %(fields)s.") % {"fields": ", ".join(fields)}
            if fields
            else error.message
        )
        raise InvalidInputError(message, fields=fields) from error
    logger.info(
        "request %s registered from %s (reference %s)",
        ticket.number,
        integration.get_username(),
        external_id,
    )
    return ticket, True
