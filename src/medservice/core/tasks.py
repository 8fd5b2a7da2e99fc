"""Core background tasks: thin wrappers over services."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from medservice.core.models import Notification


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    sent = 0
    for notification in Notification.objects.filter(
        pk__in=notification_ids, emailed_at__isnull=True
    ).select_related("recipient"):
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient.email],
        )
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


@task()
def health_probe() -> str:
    """Answers "ok": shows that a worker picks up and finishes tasks (operations checks)."""
    return "ok"


@task()
def run_import(job_id: int) -> str:
    from medservice.core.imports import import_run

    return import_run(job_id).status
