"""Background work of follow-ups and surveys: survey messages sent after commit, the overdue
reminder of low scores, and the periodic customer evaluation. Thin: each calls a service."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import task

from medservice.core.scheduler import periodic_job


@task()
def send_survey_message(survey_id: int, subject: str, text: str, email: str, phone: str) -> None:
    """E-mail or text a survey's link (or the answer to a low score) to the customer."""
    from medservice.core.messaging import message_backend
    from medservice.feedback.models import Survey

    if not Survey.objects.filter(pk=survey_id).exists():
        return
    if email:
        EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email],
            headers={"X-MedService-Survey": str(survey_id)},
        ).send(fail_silently=False)
    if phone:
        message_backend().send(to=phone, text=text)


@periodic_job("feedback.survey-escalation-reminders", every=datetime.timedelta(hours=1))
def survey_escalation_reminders() -> int:
    """Remind once each service manager whose low-score task is overdue."""
    from medservice.feedback.services_surveys import escalations_remind_overdue

    return escalations_remind_overdue()


@periodic_job("feedback.periodic-surveys", every=datetime.timedelta(days=1))
def periodic_surveys() -> int:
    """The periodic customer evaluation questionnaire: once per period and organisation."""
    from medservice.feedback.services_surveys import periodic_surveys_run

    return periodic_surveys_run()
