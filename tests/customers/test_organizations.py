"""Organisations through the generic resource: list, filters, export, edit conflicts, errors."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from medservice.core.models import AuditEvent
from medservice.customers.models import Organization
from medservice.customers.validators import credit_code_check_character, validate_credit_code
from tests.factories import OrganizationFactory

VALID_CODE = "91110000100000000" + credit_code_check_character("91110000100000000")


@pytest.fixture
def signed_in_agent(client, agent):
    client.force_login(agent)
    return client


def test_the_credit_code_check_character_is_validated():
    validate_credit_code(VALID_CODE)
    wrong = VALID_CODE[:17] + ("0" if VALID_CODE[17] != "0" else "1")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        validate_credit_code(wrong)
    assert error.value.code == "credit_code_check"
    with pytest.raises(ValidationError) as error:
        validate_credit_code("91110000IOSVZ0000X")
    assert error.value.code == "credit_code_format"


@pytest.mark.django_db
def test_the_list_filters_searches_sorts_and_paginates_in_fixed_queries(
    signed_in_agent, django_assert_max_num_queries
):
    OrganizationFactory.create_batch(30, kind="hospital", region="上海")
    OrganizationFactory(name="县中医院", kind="hospital", region="湖州")
    with django_assert_max_num_queries(12):
        page = signed_in_agent.get("/customers/organizations/", {"region": "湖州"})
    assert page.status_code == 200
    assert "县中医院" in page.content.decode()
    assert "1 record" in page.content.decode()
    with django_assert_max_num_queries(12):
        big = signed_in_agent.get("/customers/organizations/", {"sort": "-name", "page": 2})
    assert "Page 2 of 2" in big.content.decode()
    found = signed_in_agent.get("/customers/organizations/", {"q": "中医"})
    assert "县中医院" in found.content.decode() and "1 record" in found.content.decode()


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_list(signed_in_agent, django_assert_num_queries):
    parent = OrganizationFactory(kind="chain_store", name="连锁总部")
    OrganizationFactory.create_batch(5, parent=parent)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        signed_in_agent.get("/customers/organizations/")
    OrganizationFactory.create_batch(15, parent=parent)
    with CaptureQueriesContext(connection) as large:
        signed_in_agent.get("/customers/organizations/")
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.django_db
def test_the_filtered_list_exports_to_csv_with_a_byte_order_mark(signed_in_agent):
    OrganizationFactory(name="市第一人民医院", region="上海", credit_code=VALID_CODE)
    OrganizationFactory(name="县中医院", region="湖州")
    response = signed_in_agent.get(
        "/customers/organizations/", {"export": "csv", "region": "上海", "kind": "hospital"}
    )
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["ID", "name", "kind", "region"]
    assert [row[1:5] for row in rows[1:]] == [["市第一人民医院", "Hospital", "上海", VALID_CODE]]


@pytest.mark.django_db
def test_the_filtered_list_exports_to_xlsx_that_reads_back(signed_in_agent):
    OrganizationFactory(name="妇幼保健院", region="南京")
    response = signed_in_agent.get("/customers/organizations/", {"export": "xlsx", "q": "妇幼"})
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[1][1:4] == ["妇幼保健院", "Hospital", "南京"]
    assert len(rows) == 2


@pytest.mark.django_db
def test_selected_rows_export_alone(signed_in_agent):
    chosen, _other = OrganizationFactory(name="甲"), OrganizationFactory(name="乙")
    response = signed_in_agent.get(
        "/customers/organizations/", {"export": "csv", "ids": [chosen.pk]}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["甲"]


@pytest.mark.django_db
def test_a_bad_credit_code_is_refused_by_name_and_nothing_is_saved(signed_in_agent):
    response = signed_in_agent.post(
        "/customers/organizations/new/",
        {"kind": "hospital", "name": "新医院", "credit_code": "123"},
    )
    assert response.status_code == 400
    assert "A unified social credit code has 18 characters" in response.content.decode()
    assert not Organization.objects.filter(name="新医院").exists()


@pytest.mark.django_db
def test_two_people_editing_the_same_record_do_not_lose_either_change(client, agent, manager):
    organization = OrganizationFactory(name="市第一人民医院", region="上海")
    first, second = client, type(client)(HTTP_ACCEPT_LANGUAGE="en")
    first.force_login(agent)
    second.force_login(manager)
    form = {
        "kind": "hospital",
        "name": "市第一人民医院",
        "region": "杭州",
        "version": organization.version,
    }
    assert first.post(f"/customers/organizations/{organization.pk}/edit/", form).status_code == 302
    stale = {**form, "region": "南京"}
    response = second.post(f"/customers/organizations/{organization.pk}/edit/", stale)
    assert response.status_code == 409
    assert "was changed by someone else after you opened it" in response.content.decode()
    organization.refresh_from_db()
    assert (organization.region, organization.version) == ("杭州", 2)


@pytest.mark.django_db
def test_the_api_refuses_a_stale_version_with_409(api, agent):
    organization = OrganizationFactory(region="上海")
    client = api.as_user(agent)
    fresh = client.patch(
        f"/api/v1/organizations/{organization.pk}/", {"region": "杭州", "version": 1}, format="json"
    )
    assert (fresh.status_code, fresh.json()["version"]) == (200, 2)
    stale = client.patch(
        f"/api/v1/organizations/{organization.pk}/", {"region": "南京", "version": 1}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"


@pytest.mark.django_db
def test_the_api_error_body_names_the_field(api, agent):
    response = api.as_user(agent).post(
        "/api/v1/organizations/", {"kind": "spaceship", "name": ""}, format="json"
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["fields"] == {
        "kind": ['"spaceship" is not a valid choice.'],
        "name": ["This field may not be blank."],
    }


@pytest.mark.django_db
def test_the_api_creates_through_the_service_and_audits(api, agent):
    response = api.as_user(agent).post(
        "/api/v1/organizations/",
        {"kind": "clinic", "name": "阳光诊所", "region": "南京"},
        format="json",
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(
        object_type="customers.organization", object_id=str(response.json()["id"])
    )
    assert (event.action, event.actor_id) == ("create", agent.pk)


@pytest.mark.django_db
def test_a_role_without_the_permission_cannot_write(api, customer_a):
    response = api.as_user(customer_a).post(
        "/api/v1/organizations/", {"kind": "clinic", "name": "x"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_delete_through_the_ui_asks_a_reason_and_audits_it(client, administrator):
    organization = OrganizationFactory(name="重复录入医院")
    client.force_login(administrator)
    response = client.post(
        f"/customers/organizations/{organization.pk}/delete/", {"reason": "重复录入"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_id=str(organization.pk), action="delete")
    assert event.reason == "重复录入"


@pytest.mark.django_db
def test_the_detail_page_shows_the_history(signed_in_agent, agent):
    from medservice.core.services import record_update

    organization = OrganizationFactory(name="县中医院", region="上海")
    record_update(actor=agent, instance=organization, data={"region": "湖州"})
    page = signed_in_agent.get(f"/customers/organizations/{organization.pk}/").content.decode()
    assert "湖州" in page and "上海" in page and "王小明" in page


@pytest.mark.django_db
def test_the_ui_speaks_chinese_by_default(agent):
    from django.test import Client

    chinese = Client()
    chinese.force_login(agent)
    agent.language = "zh-hans"
    agent.save()
    page = chinese.get("/customers/organizations/").content.decode()
    assert '<html lang="zh-hans">' in page


@pytest.mark.django_db
def test_the_api_list_query_count_does_not_grow_with_the_list(api, agent, distributor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api.as_user(agent)
    for _ in range(3):
        OrganizationFactory().served_by.add(distributor)
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/organizations/")
    for _ in range(20):
        OrganizationFactory().served_by.add(distributor)
    with CaptureQueriesContext(connection) as large:
        client.get("/api/v1/organizations/")
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.django_db
def test_saving_stale_values_again_after_a_conflict_still_conflicts(client, agent, manager):
    organization = OrganizationFactory(name="市第一人民医院", region="上海")
    first, second = client, type(client)(HTTP_ACCEPT_LANGUAGE="en")
    first.force_login(agent)
    second.force_login(manager)
    form = {"kind": "hospital", "name": "市第一人民医院", "region": "杭州", "version": 1}
    first.post(f"/customers/organizations/{organization.pk}/edit/", form)
    conflict = second.post(
        f"/customers/organizations/{organization.pk}/edit/", {**form, "region": "南京"}
    )
    assert 'name="version" value="1"' in conflict.content.decode()
    again = second.post(
        f"/customers/organizations/{organization.pk}/edit/", {**form, "region": "南京"}
    )
    assert again.status_code == 409
    organization.refresh_from_db()
    assert organization.region == "杭州"


@pytest.mark.django_db
def test_deleting_an_organisation_still_in_use_is_refused_by_name(
    api, administrator, hospital_a, customer_a
):
    response = api.as_user(administrator).delete(
        f"/api/v1/organizations/{hospital_a.pk}/?reason=重复"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert (
        response.json()["error"]["message"]
        == f"市第一人民医院 is still used by {customer_a} and cannot be deleted."
    )
    assert Organization.objects.filter(pk=hospital_a.pk).exists()


@pytest.mark.django_db
def test_a_delete_without_a_reason_is_refused(api, administrator):
    organization = OrganizationFactory()
    response = api.as_user(administrator).delete(f"/api/v1/organizations/{organization.pk}/")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "reason": ["A reason is required to delete a record."]
    }
    assert Organization.objects.filter(pk=organization.pk).exists()


@pytest.mark.django_db
def test_distributor_links_are_audited(api, agent, distributor):
    organization = OrganizationFactory()
    response = api.as_user(agent).patch(
        f"/api/v1/organizations/{organization.pk}/", {"served_by": [distributor.pk]}, format="json"
    )
    assert response.status_code == 200
    event = AuditEvent.objects.filter(
        object_id=str(organization.pk), object_type="customers.organization"
    ).latest("id")
    assert (event.changes, event.actor_id) == ({"served_by": [[], [distributor.pk]]}, agent.pk)


@pytest.mark.django_db
def test_links_changed_from_the_distributors_side_are_audited_on_the_customer(distributor):
    hospital = OrganizationFactory()
    distributor.serves.add(hospital)
    distributor.serves.clear()
    events = AuditEvent.objects.filter(
        object_type="customers.organization", object_id=str(hospital.pk)
    ).order_by("id")
    assert [event.changes for event in events if event.action == "update"] == [
        {"served_by": [[], [distributor.pk]]},
        {"served_by": [[distributor.pk], []]},
    ]


@pytest.mark.django_db
def test_deleting_a_distributor_records_the_lost_link_on_each_customer(administrator):
    from medservice.core.services import record_delete

    distributor = OrganizationFactory(kind="distributor", name="旧经销商")
    hospital = OrganizationFactory()
    hospital.served_by.add(distributor)
    distributor_id = distributor.pk
    record_delete(actor=administrator, instance=distributor, reason="停止合作")
    latest = AuditEvent.objects.filter(
        object_type="customers.organization", object_id=str(hospital.pk)
    ).latest("id")
    assert (latest.changes, latest.reason) == ({"served_by": [[distributor_id], []]}, "停止合作")
