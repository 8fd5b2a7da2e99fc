"""The case page for quality staff and the quality manager, in the browser's own terms: the
investigation, notices, decision and hold sections with their forms, in both languages."""

from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from medservice.installed_base.choices import HoldKind
from medservice.installed_base.models import Hold
from medservice.quality.models import CaseDecision
from tests.factories import PASSWORD, user_with_role
from tests.quality.factories_decisions import REPAIR_CLAUSE, case_of, product, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm")


@pytest.fixture
def case(staff, hospital_a):
    setup = product()
    return case_of(staff, unit(setup, hospital_a, serial_number="KM8-0100"), injury=True)


def test_quality_staff_see_the_sections_but_no_decision_form(client, staff, case):
    client.force_login(staff)
    page = client.get(f"/quality/quality-cases/{case.pk}/").content.decode()
    for marker in ('id="investigation"', 'id="notices"', 'id="decision"', 'data-hold="batch"',
                   'data-hold="evidence"', 'data-action="investigate"', REPAIR_CLAUSE):  # fmt: skip
        assert marker in page
    assert 'data-action="decide"' not in page
    assert 'data-action="evidence-release"' not in page
    # Posting the decision anyway is refused
    response = client.post(f"/quality/quality-cases/{case.pk}/decide/", {"outcome": "no_defect"})
    assert response.status_code == 403


def test_the_quality_manager_decides_and_signs_in_the_browser(client, quality_manager, case):
    client.force_login(quality_manager)
    url = f"/quality/quality-cases/{case.pk}/"
    page = client.get(url).content.decode()
    assert 'data-action="decide"' in page and 'type="password"' in page
    form = {"outcome": "use_error", "rationale": "佩戴不当", "advice": "指导正确佩戴探头",
            "markets": ["CN"], "password": "wrong"}  # fmt: skip
    response = client.post(f"{url}decide/", form)
    assert response.status_code == 400
    assert "The password is not correct." in response.content.decode()
    assert not CaseDecision.objects.exists()
    response = client.post(f"{url}decide/", {**form, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, url)
    page = client.get(url).content.decode()
    assert 'data-outcome="use_error"' in page and "data-signature" in page
    assert 'data-action="decide"' not in page


def test_the_quality_manager_releases_the_evidence_hold_in_the_browser(
    client, quality_manager, case
):
    client.force_login(quality_manager)
    url = f"/quality/quality-cases/{case.pk}/evidence-release/"
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    response = client.post(url, {"reason": "已向监管部门报告"})
    assert response.status_code == 302
    assert Hold.objects.get(kind=HoldKind.EVIDENCE).release_reason == "已向监管部门报告"


def test_the_page_answers_in_chinese(client, quality_manager, case):
    # Given a quality manager working in Chinese
    quality_manager.language = "zh-hans"
    quality_manager.save()
    client.force_login(quality_manager)
    response = client.get(f"/quality/quality-cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_staff_record_a_notice_as_sent_from_its_page(client, staff, case):
    notice = case.supplier_notices.get()
    client.force_login(staff)
    page = client.get(f"/quality/supplier-notices/{notice.pk}/").content.decode()
    assert 'data-action="send"' in page and REPAIR_CLAUSE in page
    url = f"/quality/supplier-notices/{notice.pk}/send/"
    response = client.post(url, {"channel": "email", "sent_to": "not-an-address"})
    assert response.status_code == 400
    assert "Give an e-mail address." in response.content.decode()
    response = client.post(url, {"channel": "phone", "sent_to": "李经理 021-55550000"})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.channel, notice.sent_to) == (
        "sent",
        "phone",
        "李经理 021-55550000",
    )
    page = client.get(f"/quality/supplier-notices/{notice.pk}/").content.decode()
    assert 'data-action="acknowledge"' in page and 'data-action="send"' not in page


def test_the_notice_list_paginates_in_a_fixed_number_of_queries(
    client, staff, case, django_assert_max_num_queries
):
    client.force_login(staff)
    with django_assert_max_num_queries(20):
        response = client.get("/quality/supplier-notices/")
    assert response.status_code == 200
    assert case.supplier_notices.get().number in response.content.decode()


def test_the_case_page_has_no_duplicate_element_ids(client, quality_manager, case):
    import re
    from collections import Counter

    # Given the quality manager, who sees every form on an open case's page
    client.force_login(quality_manager)
    html = client.get(f"/quality/quality-cases/{case.pk}/").content.decode()
    # Then each id is used once (labels and scripts find the right field)
    counts = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [name for name, count in counts.items() if count > 1] == []
