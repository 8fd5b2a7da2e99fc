from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings

from medservice.core.messaging import LoggingMessageBackend, message_backend
from medservice.core.models import Notification
from medservice.core.notifications import notify
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_a_notification_lands_in_the_inbox_and_is_emailed_after_commit(company):
    from django.db import transaction

    person = UserFactory(organization=company, email="li@example.com", language="en")
    with transaction.atomic():
        notify(
            recipients=[person],
            template="message",
            context={"subject": "SLA at risk", "body": "TS-2026-000001"},
        )
        assert mail.outbox == []
    (item,) = Notification.objects.filter(recipient=person)
    assert item.subject == "SLA at risk"
    assert [message.subject for message in mail.outbox] == ["SLA at risk"]
    assert mail.outbox[0].to == ["li@example.com"]
    item.refresh_from_db()
    assert item.emailed_at is not None


@pytest.mark.django_db
def test_the_inbox_shows_and_marks_read(client, company):
    person = UserFactory(organization=company, email="")
    notify(
        recipients=[person],
        template="message",
        context={"subject": "Parts below reorder point", "body": ""},
        link="/inbox/",
    )
    client.force_login(person)
    assert "Parts below reorder point" in client.get("/inbox/").content.decode()
    item = Notification.objects.get(recipient=person)
    assert client.post(f"/inbox/{item.pk}/read/").status_code == 302
    item.refresh_from_db()
    assert item.read_at is not None


@pytest.mark.django_db
def test_nobody_marks_anothers_notification(client, company):
    owner, other = UserFactory(organization=company), UserFactory(organization=company)
    notify(recipients=[owner], template="message", context={"subject": "x", "body": ""})
    client.force_login(other)
    item = Notification.objects.get(recipient=owner)
    assert client.post(f"/inbox/{item.pk}/read/").status_code == 404


def test_the_default_sms_backend_only_logs():
    backend = message_backend()
    assert isinstance(backend, LoggingMessageBackend)
    message_id = backend.send(to="13800138000", text="您的报修已受理")
    assert backend.sent[-1] == {
        "to": "13800138000",
        "text": "您的报修已受理",
        "channel": "sms",
        "id": message_id,
    }
