"""Background work of the tickets app: customer messages after commit, and the periodic
service-promise sweep and confirmation reminders."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import task

from medservice.core.scheduler import periodic_job

logger = logging.getLogger(__name__)


@task()
def send_customer_message(ticket_id: int, subject: str, text: str, email: str, phone: str) -> None:
    from medservice.core.messaging import message_backend
    from medservice.tickets.models import Ticket

    ticket = Ticket.objects.filter(pk=ticket_id).only("number").first()
    if ticket is None:
        return
    if email:
        EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email],
            reply_to=[getattr(settings, "MEDSERVICE_SERVICE_MAILBOX", settings.DEFAULT_FROM_EMAIL)],
            headers={"X-MedService-Ticket": ticket.number},
        ).send(fail_silently=False)
    if phone:
        message_backend().send(to=phone, text=text)


@task()
def recompute_for_calendar(calendar_code: str) -> int:
    from medservice.tickets.services import clocks_recompute_for_calendar

    return clocks_recompute_for_calendar(calendar_code)


@periodic_job("tickets.sla-sweep", every=datetime.timedelta(minutes=1))
def sla_sweep_job() -> dict[str, int]:
    from medservice.tickets.sweep import sla_sweep

    return sla_sweep()


@periodic_job("tickets.confirmations", every=datetime.timedelta(hours=1))
def confirmations_job() -> dict[str, int]:
    from medservice.tickets.services import resolution_reminders_and_auto_close

    return resolution_reminders_and_auto_close()


@periodic_job("tickets.email-intake", every=datetime.timedelta(minutes=2))
def email_intake_job() -> dict[str, int]:
    """The service mailbox (IMAP): new messages become requests or replies on them."""
    from medservice.tickets.intake_email import imap_poll

    return imap_poll()
