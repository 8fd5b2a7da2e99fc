"""A survey reaches the customer as a real e-mail with a one-time link that expires; the
public page takes one answer and refuses a used, expired or unknown link with a clear page."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from freezegun import freeze_time

from medservice.feedback.choices import SurveyChannel, SurveyStatus
from medservice.feedback.models import Survey, SurveyAnswer
from medservice.feedback.services_surveys import token_hash
from tests.feedback.factories_followups import closed_ticket

pytestmark = pytest.mark.django_db
GOOD = {"speed": "5", "attitude": "4", "professionalism": "5", "result": "4",
        "recommendation": "9", "comments": "很好"}  # fmt: skip


def link_in(message) -> str:
    found = re.search(r"https?://\S+/survey/([A-Za-z0-9_-]+)/", message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def emailed(agent, hospital_a):
    """A closed request: its survey went out by e-mail to the request's contact."""
    mail.outbox.clear()
    ticket = closed_ticket(agent, hospital_a)
    return ticket, Survey.objects.get(ticket=ticket)


def test_the_survey_is_emailed_with_its_link_and_only_the_hash_is_stored(emailed):
    ticket, survey = emailed
    assert (survey.status, survey.channel, survey.language) == (
        SurveyStatus.SENT, SurveyChannel.EMAIL, "en",
    )  # fmt: skip
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [ticket.contact.email]
    assert message.subject == "Please rate our service"
    token = link_in(message)
    assert survey.token_hash == token_hash(token)
    assert token not in str(Survey.objects.filter(pk=survey.pk).values().get())


def test_the_link_is_answered_once_then_refused(client, emailed):
    _ticket, survey = emailed
    url = f"/survey/{link_in(mail.outbox[0])}/"
    page = client.get(url)
    assert page.status_code == 200
    assert "How satisfied are you with our response speed?" in page.content.decode()

    # When the customer answers
    response = client.post(url, GOOD)
    assert response.status_code == 200
    assert "Thank you for your answers!" in response.content.decode()
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.ANSWERED
    assert dict(survey.answers.values_list("question__code", "score")) == {
        "speed": 5, "attitude": 4, "professionalism": 5, "result": 4, "recommendation": 9,
        "comments": None,
    }  # fmt: skip

    # Then a second use of the link is refused and nothing more is stored
    again = client.post(url, GOOD)
    assert again.status_code == 410
    assert "This survey has already been answered. Thank you!" in again.content.decode()
    assert client.get(url).status_code == 410
    assert SurveyAnswer.objects.filter(survey=survey).count() == 6


def test_an_expired_link_is_refused(client, emailed):
    _ticket, survey = emailed
    url = f"/survey/{link_in(mail.outbox[0])}/"
    # 14 days later (FEEDBACK_SURVEY_LINK_DAYS) and a minute
    later = survey.link_expires_at + datetime.timedelta(minutes=1)
    with freeze_time(later):
        response = client.post(url, GOOD)
    assert response.status_code == 410
    assert "This survey link has expired." in response.content.decode()
    survey.refresh_from_db()
    assert (survey.status, survey.answers.count()) == (SurveyStatus.SENT, 0)


def test_an_unknown_link_is_refused(client, db):
    response = client.get("/survey/not-a-real-token/")
    assert response.status_code == 404
    assert "This survey link is not valid." in response.content.decode()


def test_bad_answers_are_named_and_nothing_is_saved(client, emailed):
    _ticket, survey = emailed
    url = f"/survey/{link_in(mail.outbox[0])}/"
    response = client.post(url, {**GOOD, "speed": "7", "recommendation": ""})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Choose a whole number from 1 to 5." in text
    assert "Please answer this question." in text
    survey.refresh_from_db()
    assert (survey.status, survey.answers.count()) == (SurveyStatus.SENT, 0)


def test_a_new_send_replaces_the_old_link(client, emailed, agent):
    from medservice.feedback.services_surveys import survey_send
    from tests.feedback.factories_followups import run_on_commit

    _ticket, survey = emailed
    old = link_in(mail.outbox[0])
    run_on_commit(survey_send, actor=agent, survey=survey, channel="email")
    new = link_in(mail.outbox[1])
    assert new != old
    assert client.get(f"/survey/{old}/").status_code == 404
    assert client.get(f"/survey/{new}/").status_code == 200


def test_the_public_page_is_rate_limited(client, emailed, settings):
    settings.FEEDBACK_SURVEY_RATE = "3/hour"
    url = f"/survey/{link_in(mail.outbox[0])}/"
    statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_sms_when_the_contact_has_no_email(agent, hospital_a):
    from medservice.core.messaging import LoggingMessageBackend
    from tests.factories import ContactFactory

    LoggingMessageBackend.sent.clear()
    contact = ContactFactory(organization=hospital_a, email="", language="en",
                             mobile="13900001111")  # fmt: skip
    ticket = closed_ticket(agent, hospital_a, contact=contact)
    survey = Survey.objects.get(ticket=ticket)
    assert survey.channel == SurveyChannel.SMS
    sent = [item for item in LoggingMessageBackend.sent if item["to"] == "13900001111"]
    assert len(sent) == 1 and "/survey/" in sent[0]["text"]
