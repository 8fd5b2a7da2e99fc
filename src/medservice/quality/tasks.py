"""Quality periodic jobs: thin wrappers over services."""

from __future__ import annotations

import datetime

from django_tasks import task

from medservice.core.scheduler import periodic_job


@periodic_job("quality.contact-clock", every=datetime.timedelta(minutes=5))
def contact_clock() -> dict[str, int]:
    """Warn when a quality complainant has not been contacted in time (SOP-3)."""
    from medservice.quality.services import contact_clock_sweep

    return contact_clock_sweep()


@periodic_job("quality.notice-reminders", every=datetime.timedelta(hours=1))
def notice_reminders() -> int:
    """Chase supplier and manufacturer notices not yet acknowledged, once per period."""
    from medservice.quality.decisions import notice_reminders_sweep

    return notice_reminders_sweep()


@task()
def send_supplier_notice_email(notice_id: int, subject: str, body: str, address: str) -> None:
    """E-mail a notice (or its reminder) to the supplier or manufacturer, after commit."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    from medservice.quality.models import SupplierNotice

    notice = SupplierNotice.objects.filter(pk=notice_id).only("number").first()
    if notice is None or not address:
        return
    EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address],
        headers={"X-MedService-Supplier-Notice": notice.number},
    ).send(fail_silently=False)  # fmt: skip


@task()
def send_case_message(case_id: int, subject: str, text: str, email: str, phone: str) -> None:
    """E-mail and text a complainant or a customer news of a quality case, after commit."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    from medservice.core.messaging import message_backend
    from medservice.quality.models import QualityCase

    case = QualityCase.objects.filter(pk=case_id).only("number").first()
    if case is None:
        return
    if email:
        EmailMessage(
            subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email],
            headers={"X-MedService-Quality-Case": case.number},
        ).send(fail_silently=False)  # fmt: skip
    if phone:
        message_backend().send(to=phone, text=text)


@periodic_job("quality.adverse-event-clock", every=datetime.timedelta(minutes=5))
def adverse_event_clock() -> dict[str, int]:
    """Warn before an adverse-event report falls due and escalate when it is late."""
    from medservice.quality.adverse_events import report_clock_sweep

    return report_clock_sweep()


@periodic_job("quality.recall-deadlines", every=datetime.timedelta(minutes=15))
def recall_deadlines() -> dict[str, int]:
    """Warn when recall notices (CN-RC-1), the regulator filing (CN-RC-2) or the summary
    report after the recall's end (CN-RC-3) fall due."""
    from medservice.quality.recalls import recall_deadline_sweep

    return recall_deadline_sweep()


@periodic_job("quality.capa-overdue-actions", every=datetime.timedelta(hours=1))
def capa_overdue_actions() -> dict[str, int]:
    """Remind owners of overdue CAPA actions, once per day each."""
    from medservice.quality.capa import capa_overdue_action_sweep

    return capa_overdue_action_sweep()


# Daily, though the rule is monthly: the first run after a month ends evaluates it, the others
# find its signals already raised (and a missed day catches up).
@periodic_job("quality.trend-signals", every=datetime.timedelta(days=1))
def trend_signals() -> dict[str, int]:
    """Test last month's complaints per model, batch and fault code; raise trend signals."""
    from medservice.quality.trends import trends_evaluate

    return trends_evaluate()


@periodic_job("quality.accident-report-clock", every=datetime.timedelta(minutes=5))
def accident_report_clock() -> dict[str, int]:
    """Warn before and on breach of a quality accident's report deadline."""
    from medservice.quality.accidents import accident_report_clock_sweep

    return accident_report_clock_sweep()
