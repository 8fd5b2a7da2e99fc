"""CAPA: opened from a quality case (linked to it), every workflow step, the quality manager's
signed closure (and who may not close, with what password, over what), overdue reminders once
a day, the API and the pages, and who may see CAPAs at all."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    SignatureError,
)
from medservice.core.models import Notification
from medservice.core.signatures import signatures_of
from medservice.quality.capa import (
    capa_add_action,
    capa_cancel,
    capa_close,
    capa_complete_action,
    capa_open,
    capa_overdue_action_sweep,
    capa_record_root_cause,
    capa_submit_verification,
    capa_verify,
    capas_of_source,
)
from medservice.quality.models import Capa
from tests.factories import PASSWORD, user_with_role
from tests.quality.factories_capa import QualityCaseFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 27)
NOW = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm")


@pytest.fixture
def engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="eng")


@pytest.fixture
def case():
    return QualityCaseFactory(number="QC-2026-000042")


@pytest.fixture
def capa(staff, case):
    return capa_open(actor=staff, kind="corrective", problem="输液器接口漏液，同批次三起",
                     source=case, owner=staff, due_on=TODAY + datetime.timedelta(days=60))  # fmt: skip


def _verified(capa, staff, engineer):
    capa = capa_record_root_cause(actor=staff, capa=capa, method="fishbone",
                                  root_cause="接口注塑模具磨损")  # fmt: skip
    action = capa_add_action(actor=staff, capa=capa, description="更换模具",
                             owner=engineer, due_on=TODAY + datetime.timedelta(days=7))  # fmt: skip
    capa_complete_action(actor=engineer, action=action, evidence_note="模具已更换，首件检验合格")
    capa = capa_submit_verification(actor=staff, capa=capa)
    return capa_verify(actor=staff, capa=capa, result="effective",
                       evidence="三个月内同类投诉为零")  # fmt: skip


def test_capa_open_from_a_case_links_the_case_as_its_source(capa, case, staff):
    # Given a CAPA opened from quality case QC-2026-000042
    # Then the case is its source, by type and id, with the case's number as its label
    assert (capa.kind, capa.status, capa.source, capa.source_label, capa.opened_by) == (
        "corrective", "open", case, "QC-2026-000042", staff,
    )  # fmt: skip
    assert capa.number == "CAPA-2026-000001"
    assert list(capas_of_source(case)) == [capa]
    # And an open CAPA may never be deleted (R-ISO: a live QMS record)
    assert capa.retain_until == datetime.date.max


def test_capa_open_names_each_bad_field(staff):
    with pytest.raises(InvalidInputError) as refused:
        capa_open(actor=staff, kind="urgent", problem=" ",
                  due_on=TODAY - datetime.timedelta(days=1))  # fmt: skip
    assert sorted(refused.value.fields) == ["due_on", "kind", "problem", "source_label"]
    assert Capa.objects.count() == 0


def test_a_capa_goes_through_every_step_to_a_signed_closure(capa, staff, quality_manager, engineer):
    # Given an open CAPA: when the root cause is recorded, it moves on to its actions
    capa = capa_record_root_cause(actor=staff, capa=capa, method="fishbone",
                                  root_cause="接口注塑模具磨损")  # fmt: skip
    assert (capa.status, capa.root_cause_method, capa.root_cause_by) == (
        "actions", "fishbone", staff,
    )  # fmt: skip
    # Verification is refused while there is no action, then while one is not done
    with pytest.raises(InvalidTransitionError):
        capa_submit_verification(actor=staff, capa=capa)
    action = capa_add_action(actor=staff, capa=capa, description="更换模具", owner=engineer,
                             due_on=TODAY + datetime.timedelta(days=7))  # fmt: skip
    assert Notification.objects.get(recipient=engineer).subject == (
        f"{capa.number}: an action for you, due 2026-12-04"
    )
    with pytest.raises(InvalidTransitionError) as refused:
        capa_submit_verification(actor=staff, capa=capa)
    assert refused.value.message == "Every action must be done before the verification."
    # When its owner completes it (evidence required), verification may start
    with pytest.raises(InvalidInputError) as refused:
        capa_complete_action(actor=engineer, action=action, evidence_note="")
    assert list(refused.value.fields) == ["evidence_note"]
    action = capa_complete_action(actor=engineer, action=action, evidence_note="首件检验合格")
    assert (action.done_at, action.done_by) == (NOW, engineer)
    with pytest.raises(InvalidTransitionError):
        capa_complete_action(actor=engineer, action=action, evidence_note="again")
    capa = capa_submit_verification(actor=staff, capa=capa)
    assert capa.status == "verification"
    # Not effective: back to actions
    capa = capa_verify(actor=staff, capa=capa, result="not_effective", evidence="仍有漏液投诉")
    assert (capa.status, capa.verification_result) == ("actions", "not_effective")
    second = capa_add_action(actor=staff, capa=capa, description="增加出厂气密性全检",
                             owner=engineer, due_on=TODAY + datetime.timedelta(days=14))  # fmt: skip
    capa_complete_action(actor=staff, action=second, evidence_note="检验规程 QI-12 第3版")
    capa = capa_submit_verification(actor=staff, capa=capa)
    capa = capa_verify(actor=staff, capa=capa, result="effective", evidence="三个月零投诉")
    assert (capa.status, capa.verification_result, capa.verified_by, capa.verified_at) == (
        "verification", "effective", staff, NOW,
    )  # fmt: skip
    # When the quality manager signs the closure, the CAPA is closed, signed and kept
    capa = capa_close(actor=quality_manager, capa=capa, password=PASSWORD, note="有效")
    assert (capa.status, capa.closed_by, capa.closed_at, capa.signed_at) == (
        "closed", quality_manager, NOW, NOW,
    )  # fmt: skip
    [signature] = signatures_of(capa)
    assert (signature.signer, signature.meaning) == (
        quality_manager, "CAPA closed: actions done and verified effective",
    )  # fmt: skip
    # R-ISO: two years from the closure (the source case's own five years are longer)
    assert capa.retain_until == datetime.date(2031, 10, 15)
    # Closed is final: nothing more may be done
    with pytest.raises(InvalidTransitionError):
        capa_cancel(actor=quality_manager, capa=capa, reason="x")


def test_only_the_quality_manager_closes_and_with_the_right_password(
    capa, staff, quality_manager, engineer
):
    capa = _verified(capa, staff, engineer)
    # Quality staff may verify but not close
    with pytest.raises(PermissionDeniedError):
        capa_close(actor=staff, capa=capa, password=PASSWORD)
    # A wrong password signs nothing and closes nothing
    with pytest.raises(SignatureError) as refused:
        capa_close(actor=quality_manager, capa=capa, password="wrong")
    assert list(refused.value.fields) == ["password"]
    capa.refresh_from_db()
    assert (capa.status, capa.signed_at, capa.closed_at) == ("verification", None, None)
    assert signatures_of(capa) == []


def test_closing_needs_the_verification_and_every_action_done(
    capa, staff, quality_manager, engineer
):
    capa = capa_record_root_cause(actor=staff, capa=capa, method="five_whys", root_cause="x")
    # Not in verification yet: refused (409)
    with pytest.raises(InvalidTransitionError):
        capa_close(actor=quality_manager, capa=capa, password=PASSWORD)
    action = capa_add_action(actor=staff, capa=capa, description="更换模具", owner=engineer,
                             due_on=TODAY)  # fmt: skip
    capa_complete_action(actor=engineer, action=action, evidence_note="done")
    capa = capa_submit_verification(actor=staff, capa=capa)
    # In verification but not verified: refused
    with pytest.raises(InvalidTransitionError) as refused:
        capa_close(actor=quality_manager, capa=capa, password=PASSWORD)
    assert refused.value.message == (
        "The effectiveness must be verified (effective) before closing."
    )
    capa = capa_verify(actor=staff, capa=capa, result="effective", evidence="零投诉")
    # Verified, but an action added since is not done: refused
    capa_add_action(actor=staff, capa=capa, description="更新作业指导书", owner=staff,
                    due_on=TODAY)  # fmt: skip
    with pytest.raises(InvalidTransitionError) as refused:
        capa_close(actor=quality_manager, capa=capa, password=PASSWORD)
    assert refused.value.message == (
        "1 action(s) not done yet: a CAPA closes only when every action is done."
    )
    capa.refresh_from_db()
    assert capa.status == "verification"


def test_cancelling_needs_a_reason_and_the_manager(capa, staff, quality_manager):
    with pytest.raises(PermissionDeniedError):
        capa_cancel(actor=staff, capa=capa, reason="重复")
    with pytest.raises(InvalidInputError):
        capa_cancel(actor=quality_manager, capa=capa, reason=" ")
    capa = capa_cancel(actor=quality_manager, capa=capa, reason="与 CAPA-2026-000007 重复")
    assert (capa.status, capa.cancel_reason, capa.cancelled_at) == (
        "cancelled", "与 CAPA-2026-000007 重复", NOW,
    )  # fmt: skip
    assert capa.retain_until == datetime.date(2031, 10, 15)


def test_only_the_owner_or_quality_staff_complete_an_action(capa, staff, engineer, company):
    action = capa_add_action(actor=staff, capa=capa, description="更换模具", owner=engineer,
                             due_on=TODAY)  # fmt: skip
    other = user_with_role(Role.FIELD_ENGINEER, company, username="eng2")
    with pytest.raises(PermissionDeniedError):
        capa_complete_action(actor=other, action=action, evidence_note="done")


def test_overdue_actions_remind_their_owners_once_a_day(capa, staff, engineer):
    action = capa_add_action(actor=staff, capa=capa, description="更换模具", owner=engineer,
                             due_on=TODAY)  # fmt: skip
    done = capa_add_action(actor=staff, capa=capa, description="培训", owner=engineer,
                           due_on=TODAY)  # fmt: skip
    capa_complete_action(actor=engineer, action=done, evidence_note="培训记录")
    assigned = Notification.objects.filter(recipient=engineer).count()
    # Not overdue on its due day
    assert capa_overdue_action_sweep(today=TODAY) == {"reminded": 0}
    # The day after: one reminder, however often the job runs
    day_after = TODAY + datetime.timedelta(days=1)
    assert capa_overdue_action_sweep(today=day_after) == {"reminded": 1}
    assert capa_overdue_action_sweep(today=day_after) == {"reminded": 0}
    # And one more the next day
    assert capa_overdue_action_sweep(today=day_after + datetime.timedelta(days=1)) == {
        "reminded": 1
    }
    reminders = list(
        Notification.objects.filter(recipient=engineer).order_by("pk")
        .values_list("subject", "body")[assigned:]
    )  # fmt: skip
    assert reminders == [
        (f"{capa.number}: your action is overdue",
         f"Your action of {capa.number} was due on 2026-11-27 and is 1 day overdue.\n\n更换模具"),
        (f"{capa.number}: your action is overdue",
         f"Your action of {capa.number} was due on 2026-11-27 and is 2 days overdue.\n\n更换模具"),
    ]  # fmt: skip
    action.refresh_from_db()
    assert action.reminded_on == day_after + datetime.timedelta(days=1)


def test_the_reminder_job_runs_the_sweep(capa, staff, engineer):
    from medservice.quality.tasks import capa_overdue_actions

    capa_add_action(actor=staff, capa=capa, description="更换模具", owner=engineer, due_on=TODAY)
    with freeze_time(NOW + datetime.timedelta(days=2)):
        assert capa_overdue_actions() == {"reminded": 1}
        assert capa_overdue_actions() == {"reminded": 0}


# --- API ----------------------------------------------------------------------------------------


def test_the_api_runs_the_workflow_and_refuses_as_it_should(
    api, case, staff, quality_manager, engineer
):
    client = api.as_user(staff)
    # Open from a case
    opened = client.post("/api/v1/capas/", {
        "kind": "corrective", "problem": "同批次漏液", "quality_case": case.pk,
    }, format="json")  # fmt: skip
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert (body["status"], body["source_type"], body["source_id"], body["source_label"]) == (
        "open", "quality.qualitycase", str(case.pk), case.number,
    )  # fmt: skip
    url = f"/api/v1/capas/{body['id']}"
    bad = client.post(f"{url}/record-root-cause/", {"method": "guess"}, format="json")
    assert (bad.status_code, sorted(bad.json()["error"]["fields"])) == (
        400, ["method", "root_cause"],
    )  # fmt: skip
    assert client.post(f"{url}/record-root-cause/", {"method": "five_whys",
                       "root_cause": "模具磨损"}, format="json").json()["status"] == "actions"  # fmt: skip
    added = client.post(f"{url}/add-action/", {"description": "更换模具", "owner": engineer.pk,
                        "due_on": "2026-12-01"}, format="json")  # fmt: skip
    [action] = added.json()["actions"]
    assert (action["owner"], action["due_on"], action["done_at"]) == (
        engineer.pk, "2026-12-01", None,
    )  # fmt: skip
    early = client.post(f"{url}/submit-verification/")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "invalid_transition")
    done = api.as_user(engineer).post(f"{url}/complete-action/", {
        "action": action["id"], "evidence_note": "首件合格"}, format="json")  # fmt: skip
    # The engineer's role does not read CAPAs, but the action is his to complete
    assert done.json()["actions"][0]["done_at"] == "2026-11-27T17:00:00+08:00"
    assert client.post(f"{url}/submit-verification/").json()["status"] == "verification"
    early_close = api.as_user(quality_manager).post(f"{url}/close/", {"password": PASSWORD},
                                                    format="json")  # fmt: skip
    assert early_close.status_code == 409
    verified = client.post(f"{url}/verify/", {"result": "effective", "evidence": "零投诉"},
                           format="json")  # fmt: skip
    assert verified.json()["verification_result"] == "effective"
    # Quality staff may not close (403); a wrong password is refused (400); then it closes
    assert client.post(f"{url}/close/", {"password": PASSWORD}, format="json").status_code == 403
    manager = api.as_user(quality_manager)
    wrong = manager.post(f"{url}/close/", {"password": "nope"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "signature_invalid")
    closed = manager.post(f"{url}/close/", {"password": PASSWORD}, format="json")
    assert (closed.status_code, closed.json()["status"], closed.json()["signed_at"]) == (
        200, "closed", "2026-11-27T17:00:00+08:00",
    )  # fmt: skip


def test_the_api_closing_over_an_open_action_is_409(api, capa, staff, quality_manager, engineer):
    capa = _verified(capa, staff, engineer)
    capa_add_action(actor=staff, capa=capa, description="更新作业指导书", owner=staff,
                    due_on=TODAY)  # fmt: skip
    refused = api.as_user(quality_manager).post(f"/api/v1/capas/{capa.pk}/close/",
                                                {"password": PASSWORD}, format="json")  # fmt: skip
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "invalid_transition")


def test_outsiders_see_no_capa_and_readers_cannot_act(
    api, capa, customer_a, distributor_engineer, manager
):
    for outsider in (customer_a, distributor_engineer):
        assert api.as_user(outsider).get(f"/api/v1/capas/{capa.pk}/").status_code in (403, 404)
    # A service manager reads CAPAs but may not open or move them
    reader = api.as_user(manager)
    assert [row["number"] for row in reader.get("/api/v1/capas/").json()["results"]] == [
        capa.number
    ]
    assert reader.post("/api/v1/capas/", {"kind": "corrective", "problem": "x",
                       "source_label": "y"}, format="json").status_code == 403  # fmt: skip
    refused = reader.post(f"/api/v1/capas/{capa.pk}/record-root-cause/",
                          {"method": "other", "root_cause": "x"}, format="json")  # fmt: skip
    assert refused.status_code == 403


# --- Pages --------------------------------------------------------------------------------------


def test_the_case_page_offers_a_capa_and_the_form_links_it(client, case, staff):
    client.force_login(staff)
    page = client.get(f"/quality/quality-cases/{case.pk}/").content.decode()
    assert f"/quality/capas/new/?case={case.pk}" in page
    form = client.get(f"/quality/capas/new/?case={case.pk}")
    assert form.status_code == 200
    assert case.number in form.content.decode()
    refused = client.post("/quality/capas/new/", {"case": case.pk, "kind": "corrective",
                                                  "problem": ""})  # fmt: skip
    assert refused.status_code == 400
    created = client.post("/quality/capas/new/", {"case": case.pk, "kind": "preventive",
                                                  "problem": "同类接口设计隐患",
                                                  "source_label": case.number})  # fmt: skip
    capa = Capa.objects.get()
    assert created.status_code == 302
    assert (capa.source, capa.kind) == (case, "preventive")
    # The case's page lists it in its CAPA tab
    assert capa.number in client.get(f"/quality/quality-cases/{case.pk}/").content.decode()


def test_the_capa_page_runs_the_actions_and_shows_refusals(
    client, capa, staff, quality_manager, engineer
):
    client.force_login(staff)
    page = client.get(f"/quality/capas/{capa.pk}/").content.decode()
    assert 'data-action="record-root-cause"' in page
    assert 'data-action="close"' not in page
    refused = client.post(f"/quality/capas/{capa.pk}/do/record-root-cause/", {"method": ""})
    assert refused.status_code == 400
    client.post(f"/quality/capas/{capa.pk}/do/record-root-cause/",
                {"method": "fishbone", "root_cause": "模具磨损"})  # fmt: skip
    response = client.post(f"/quality/capas/{capa.pk}/do/add-action/", {
        "description": "更换模具", "owner": engineer.pk, "due_on": "2026-12-01"})  # fmt: skip
    assert response.status_code == 302
    action = capa.actions.get()
    empty = client.post(f"/quality/capas/{capa.pk}/actions/{action.pk}/complete/", {})
    assert empty.status_code == 400
    assert "Say (or attach) what shows the action was done." in empty.content.decode()
    client.post(f"/quality/capas/{capa.pk}/actions/{action.pk}/complete/",
                {"evidence_note": "首件合格"})  # fmt: skip
    client.post(f"/quality/capas/{capa.pk}/do/submit-verification/")
    client.post(f"/quality/capas/{capa.pk}/do/verify/", {"result": "effective",
                                                         "evidence": "零投诉"})  # fmt: skip
    # Staff do not get the close button; and a direct post is refused
    assert 'data-action="close"' not in client.get(f"/quality/capas/{capa.pk}/").content.decode()
    assert client.post(f"/quality/capas/{capa.pk}/do/close/",
                       {"password": PASSWORD}).status_code == 403  # fmt: skip
    client.force_login(quality_manager)
    assert 'data-action="close"' in client.get(f"/quality/capas/{capa.pk}/").content.decode()
    wrong = client.post(f"/quality/capas/{capa.pk}/do/close/", {"password": "wrong"})
    assert wrong.status_code == 400
    assert "The password is not correct." in wrong.content.decode()
    closed = client.post(f"/quality/capas/{capa.pk}/do/close/", {"password": PASSWORD})
    assert closed.status_code == 302
    capa.refresh_from_db()
    assert capa.status == "closed"
    listed = client.get("/quality/capas/?status=closed").content.decode()
    assert capa.number in listed


def test_customers_get_no_capa_page(client, capa, customer_a):
    client.force_login(customer_a)
    assert client.get(f"/quality/capas/{capa.pk}/").status_code == 404
    assert client.get("/quality/capas/").status_code == 404
    assert client.get("/quality/capas/new/").status_code == 404


def test_an_actions_owner_without_a_quality_role_opens_the_capa_and_completes_it(
    client, capa, staff, engineer, company
):
    action = capa_add_action(actor=staff, capa=capa, description="更换模具", owner=engineer,
                             due_on=TODAY)  # fmt: skip
    client.force_login(engineer)
    page = client.get(f"/quality/capas/{capa.pk}/").content.decode()
    assert 'data-action="complete-action"' in page
    done = client.post(f"/quality/capas/{capa.pk}/actions/{action.pk}/complete/",
                       {"evidence_note": "模具已更换"})  # fmt: skip
    assert done.status_code == 302
    action.refresh_from_db()
    assert (action.done_by, action.evidence_note) == (engineer, "模具已更换")
    # Another engineer, owning nothing, does not reach it
    client.force_login(user_with_role(Role.FIELD_ENGINEER, company, username="eng2"))
    assert client.get(f"/quality/capas/{capa.pk}/").status_code == 404


def test_the_capa_lists_take_the_same_queries_however_long(client, api, staff, case):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url: str, *, through_api: bool) -> int:
        with CaptureQueriesContext(connection) as captured:
            if through_api:
                assert api_client.get(url).status_code == 200
            else:
                assert client.get(url).status_code == 200
        return len(captured)

    client.force_login(staff)
    api_client = api.as_user(staff)
    capa_open(actor=staff, kind="corrective", problem="一", source=case, owner=staff)
    few = (queries("/quality/capas/", through_api=False),
           queries("/api/v1/capas/", through_api=True))  # fmt: skip
    for number in range(5):
        capa = capa_open(actor=staff, kind="preventive", problem=f"问题{number}",
                         source_label=f"内审 {number}", owner=staff)  # fmt: skip
        capa_add_action(actor=staff, capa=capa, description="x", owner=staff, due_on=TODAY)
    many = (queries("/quality/capas/", through_api=False),
            queries("/api/v1/capas/", through_api=True))  # fmt: skip
    assert many == few
