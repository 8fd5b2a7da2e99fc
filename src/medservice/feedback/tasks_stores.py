"""Periodic jobs and background tasks of the stores: the daily opinion-book review check, the
out-of-stock register's stock check, and the message telling a customer the product is in.
Thin: each calls a service."""

from __future__ import annotations

import datetime

from django_tasks import task

from medservice.core.scheduler import periodic_job


@periodic_job("feedback.opinion-review-check", every=datetime.timedelta(minutes=15))
def opinion_review_check() -> int:
    """Record (once) each store day whose opinion book was not reviewed by closing time and
    tell the store's manager and quality person."""
    from medservice.feedback.services_stores import missed_reviews_sweep

    return missed_reviews_sweep()


@periodic_job("feedback.shortage-stock-check", every=datetime.timedelta(hours=1))
def shortage_stock_check() -> int:
    """Tell the customers of the out-of-stock register whose product is now in stock."""
    from medservice.feedback.services_stores import shortages_check_stock

    return shortages_check_stock()


@task()
def shortages_check_part(part_id: int) -> int:
    """After stock of a part arrived: its waiting customers (and those of its model)."""
    from medservice.feedback.services_stores import shortages_check_stock
    from medservice.inventory.models import Part

    model_id = Part.objects.filter(pk=part_id).values_list("device_model_id", flat=True).first()
    return shortages_check_stock(
        part_ids=[part_id], device_model_ids=[model_id] if model_id else []
    )


@task()
def send_shortage_message(entry_id: int, text: str) -> str:
    """Text and e-mail the customer of an out-of-stock entry (after the entry is marked told)."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    from medservice.core.messaging import message_backend
    from medservice.feedback.models import ShortageEntry

    entry = ShortageEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        return ""
    sent = []
    if entry.customer_phone:
        message_backend().send(to=entry.customer_phone, text=text, channel="sms")
        sent.append("sms")
    if entry.customer_email:
        EmailMessage(
            subject=text[:60], body=text, from_email=settings.DEFAULT_FROM_EMAIL,
            to=[entry.customer_email], headers={"X-MedService-Shortage": entry.number},
        ).send(fail_silently=False)  # fmt: skip
        sent.append("email")
    return ",".join(sent)
