"""Work-order background work: thin wrappers over services."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import task

from medservice.core.scheduler import periodic_job


@task()
def send_customer_text(work_order_id: int, subject: str, text: str, email: str, phone: str) -> None:
    """E-mail and text the customer a work order's news (sent after the change committed)."""
    from medservice.core.messaging import message_backend
    from medservice.work_orders.models import WorkOrder

    work_order = WorkOrder.objects.filter(pk=work_order_id).only("number").first()
    if work_order is None:
        return
    if email:
        EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email],
            headers={"X-MedService-Work-Order": work_order.number},
        ).send(fail_silently=False)
    if phone:
        message_backend().send(to=phone, text=text)


@periodic_job("work_orders.promised-dates", every=datetime.timedelta(hours=1))
def promised_dates() -> int:
    """Warn owners, engineers and managers before a promised completion date slips."""
    from medservice.work_orders.services import promised_dates_warn

    return promised_dates_warn()


@periodic_job("work_orders.late-arrivals", every=datetime.timedelta(minutes=5))
def late_arrivals() -> int:
    """Tell managers and the owner of visits whose engineer has not checked in in time."""
    from medservice.work_orders.dispatch import late_arrivals_alert

    return late_arrivals_alert()
