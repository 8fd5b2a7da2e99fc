"""The survey API: the public answer endpoint (no sign-in, same checks as the page, one use,
rate-limited), send, questions, low-score answer, results; permissions and scope."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.feedback.models import Survey, SurveyQuestion
from tests.factories import user_with_role
from tests.feedback.factories_followups import (
    SurveyEscalationFactory,
    SurveyFactory,
    closed_ticket,
    survey_with_token,
)

pytestmark = pytest.mark.django_db
GOOD = {"speed": "5", "attitude": "5", "professionalism": "4", "result": "5",
        "recommendation": "10", "comments": ""}  # fmt: skip


def test_the_public_endpoint_takes_one_answer_without_signing_in(api, hospital_a):
    survey = SurveyFactory(organization=hospital_a)
    token = survey_with_token(survey)
    anonymous = api.anonymous()
    response = anonymous.post("/api/v1/survey-answers/", {"token": token, "answers": GOOD},
                              format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "answered"
    again = anonymous.post("/api/v1/survey-answers/", {"token": token, "answers": GOOD},
                           format="json")  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["fields"] == {"token": ["used"]}
    assert survey.answers.count() == 6


def test_the_public_endpoint_names_bad_answers(api, hospital_a):
    token = survey_with_token(SurveyFactory(organization=hospital_a))
    response = api.anonymous().post(
        "/api/v1/survey-answers/",
        {"token": token, "answers": {**GOOD, "recommendation": "11", "speed": "x"}}, format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "speed": ["Choose a whole number from 1 to 5."],
        "recommendation": ["Choose a whole number from 0 to 10."],
    }
    assert api.anonymous().post("/api/v1/survey-answers/", {"token": token}, format="json"
                                ).status_code == 400  # fmt: skip
    assert api.anonymous().post("/api/v1/survey-answers/", ["x"], format="json").status_code == 400


def test_an_expired_or_unknown_token_is_refused(api, hospital_a):
    token = survey_with_token(SurveyFactory(organization=hospital_a), days=-1)
    expired = api.anonymous().post("/api/v1/survey-answers/", {"token": token, "answers": GOOD},
                                   format="json")  # fmt: skip
    assert (expired.status_code, expired.json()["error"]["fields"]) == (409, {"token": ["expired"]})
    unknown = api.anonymous().post("/api/v1/survey-answers/", {"token": "nope", "answers": GOOD},
                                   format="json")  # fmt: skip
    assert (unknown.status_code, unknown.json()["error"]["fields"]) == (400, {"token": ["unknown"]})


def test_the_public_endpoint_is_rate_limited(api, hospital_a, settings):
    settings.FEEDBACK_SURVEY_RATE = "2/hour"
    statuses = [
        api.anonymous().post("/api/v1/survey-answers/", {"token": "x", "answers": {}},
                             format="json").status_code
        for _try in range(3)
    ]  # fmt: skip
    assert statuses == [400, 400, 429]


def test_an_agent_sends_a_survey_by_sms_and_a_customer_may_not(api, agent, customer_a, hospital_a):
    from medservice.customers.models import Contact

    contact = Contact.objects.create(organization=hospital_a, name="李护士", mobile="13911112222")
    survey = SurveyFactory(organization=hospital_a, contact=contact)
    response = api.as_user(agent).post(f"/api/v1/surveys/{survey.pk}/send/", {"channel": "sms"},
                                       format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["channel"]) == ("sent", "sms")
    email = api.as_user(agent).post(f"/api/v1/surveys/{survey.pk}/send/", {"channel": "email"},
                                    format="json")  # fmt: skip
    assert email.json()["error"]["fields"] == {
        "channel": ["The survey's contact has no e-mail address."]
    }
    refused = api.as_user(customer_a).post(f"/api/v1/surveys/{survey.pk}/send/",
                                           {"channel": "sms"}, format="json")  # fmt: skip
    assert refused.status_code == 403
    # Surveys are created by the system only (refused by permission, or as a method).
    assert api.as_user(agent).post("/api/v1/surveys/", {}, format="json").status_code in (403, 405)


def test_a_customer_lists_only_its_own_surveys(api, customer_a, hospital_a, hospital_b):
    own = SurveyFactory(organization=hospital_a)
    SurveyFactory(organization=hospital_b)
    listed = api.as_user(customer_a).get("/api/v1/surveys/").json()
    assert [row["id"] for row in listed["results"]] == [own.pk]


def test_questions_are_configured_by_the_manager_only(api, manager, agent):
    created = api.as_user(manager).post(
        "/api/v1/survey-questions/",
        {"code": "delivery", "kind": "score", "text_zh": "您对到货速度是否满意？",
         "text_en": "How satisfied are you with delivery?", "order": 70}, format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert SurveyQuestion.objects.filter(active=True).count() == 7
    assert api.as_user(agent).post(
        "/api/v1/survey-questions/", {"code": "x", "kind": "score", "text_zh": "x",
                                      "text_en": "x"}, format="json",
    ).status_code == 403  # fmt: skip
    assert api.as_user(manager).delete(f"/api/v1/survey-questions/{created.json()['id']}/"
                                       ).status_code in (403, 405)  # fmt: skip


def test_a_manager_answers_a_low_score_through_the_api(api, manager, agent, hospital_a):
    escalation = SurveyEscalationFactory(survey__organization=hospital_a, assignee=manager)
    assert (
        api.as_user(agent)
        .post(
            f"/api/v1/survey-escalations/{escalation.pk}/answer/",
            {"action_taken": "x"},
            format="json",
        )
        .status_code
        == 403
    )
    response = api.as_user(manager).post(
        f"/api/v1/survey-escalations/{escalation.pk}/answer/", {"action_taken": "已上门致歉"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "answered"
    again = api.as_user(manager).post(f"/api/v1/survey-escalations/{escalation.pk}/answer/",
                                      {"action_taken": "再次"}, format="json")  # fmt: skip
    assert again.status_code == 409


def test_results_api_is_scoped_and_checks_its_inputs(api, manager, agent, customer_a, hospital_a,
                                                     hospital_b):  # fmt: skip
    for organization, speed in ((hospital_a, "5"), (hospital_b, "1")):
        token = survey_with_token(SurveyFactory(organization=organization))
        api.anonymous().post(
            "/api/v1/survey-answers/",
            {"token": token, "answers": {**GOOD, "speed": speed}},
            format="json",
        )
    rows = api.as_user(manager).get("/api/v1/survey-results/", {"by": "region"}).json()
    assert rows == [{"key": "上海", "label": "上海", "surveys": 2,
                     "averages": {"speed": 3.0, "attitude": 5.0, "professionalism": 4.0,
                                  "result": 5.0, "recommendation": 10.0},
                     "recommendations": 2, "nps": 100.0}]  # fmt: skip
    bad = api.as_user(manager).get(
        "/api/v1/survey-results/", {"by": "colour", "from": "2026-13-01"}
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"by", "from"}
    assert api.as_user(customer_a).get("/api/v1/survey-results/").status_code == 403


def test_the_survey_list_answers_in_a_fixed_number_of_queries(api, manager, hospital_a):
    client = api.as_user(manager)
    SurveyFactory(organization=hospital_a)
    client.get("/api/v1/surveys/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/surveys/")
    for _item in range(4):
        SurveyFactory(organization=hospital_a)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/surveys/").json()["count"] == 5
    assert len(many) == len(few)


def test_the_results_page_shows_the_numbers(client, manager, agent, hospital_a):
    token = survey_with_token(Survey.objects.get(ticket=closed_ticket(agent, hospital_a)))
    client.post(f"/survey/{token}/", {**GOOD, "speed": "3"})
    client.force_login(manager)
    page = client.get("/feedback/survey-results/?by=region")
    assert page.status_code == 200
    assert 'id="survey-results"' in page.content.decode()
    assert "3.0" in page.content.decode()


def test_the_portal_lists_the_customers_open_surveys_and_opens_one(
    client, customer_a, hospital_a, hospital_b
):
    own = SurveyFactory(organization=hospital_a, status="sent")
    other = SurveyFactory(organization=hospital_b, status="sent")
    client.force_login(customer_a)
    page = client.get("/feedback/portal/surveys/")
    assert page.status_code == 200
    assert 'id="portal-nav-surveys"' in page.content.decode()
    assert f"/feedback/portal/surveys/{own.pk}/open/" in page.content.decode()
    assert f"/feedback/portal/surveys/{other.pk}/open/" not in page.content.decode()
    assert client.post(f"/feedback/portal/surveys/{other.pk}/open/").status_code == 404
    opened = client.post(f"/feedback/portal/surveys/{own.pk}/open/")
    assert opened.status_code == 302 and opened["Location"].startswith("/survey/")
    assert client.get(opened["Location"]).status_code == 200


def test_a_customer_user_has_no_staff_survey_pages(client, customer_a, company):
    client.force_login(customer_a)
    assert client.get("/feedback/survey-results/").status_code == 404
    keeper = user_with_role(Role.WAREHOUSE_KEEPER, company)
    client.force_login(keeper)
    assert client.get("/feedback/surveys/").status_code == 404
