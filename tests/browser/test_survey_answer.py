"""A customer answers the satisfaction survey from the link in the e-mail, on a phone (issue
10's journey): the request closes, the survey e-mail goes out, the link opens the survey
without signing in on a 390×844 screen, the customer taps the scores and writes a comment;
the database holds exactly those answers, the request's rating is the overall result, and the
link then refuses a second use."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from medservice.feedback.models import Survey
from tests.feedback.factories_followups import closed_ticket

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_a_customer_answers_the_survey_from_its_link_on_a_phone(
    live_server, page: Page, page_errors, agent, hospital_a
):
    # Given a closed request: its survey was e-mailed to the customer
    mail.outbox.clear()
    ticket = closed_ticket(agent, hospital_a)
    survey = Survey.objects.get(ticket=ticket)
    message = next(item for item in mail.outbox if "/survey/" in item.body)
    path = re.search(r"(/survey/[A-Za-z0-9_-]+/)", message.body).group(1)

    # When the customer opens the link on a phone and answers
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + path)
    expect(page.locator("#question-speed")).to_contain_text(
        "How satisfied are you with our response speed?"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the survey must not scroll sideways on a phone"
    for code, value in (("speed", 5), ("attitude", 4), ("professionalism", 5), ("result", 4),
                        ("recommendation", 9)):  # fmt: skip
        page.locator(f"label[for='{code}-{value}']").click()
    page.locator("#comments").fill("工程师很专业")
    page.locator("#survey-submit").click()
    expect(page.locator("#survey-thanks")).to_be_visible()

    # Then the answers are stored, and the rating of the request is the overall result
    survey.refresh_from_db()
    assert survey.status == "answered"
    assert dict(survey.answers.values_list("question__code", "score")) == {
        "speed": 5, "attitude": 4, "professionalism": 5, "result": 4, "recommendation": 9,
        "comments": None,
    }  # fmt: skip
    assert survey.answers.get(question__code="comments").text == "工程师很专业"
    ticket.refresh_from_db()
    assert ticket.rating == 4

    # And the link refuses a second use with a clear page
    page.goto(live_server.url + path)
    expect(page.locator("#survey-refused")).to_contain_text("already been answered")
    assert [error for error in page_errors if "410" not in error] == []
