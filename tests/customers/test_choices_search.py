"""Searching organisations and departments for a form or a filter (the autocomplete's
endpoints): only what the user may see, by name or credit code, a page at most, signed in."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.customers.validators import credit_code_check_character
from tests.factories import (
    ContactFactory,
    DepartmentFactory,
    OrganizationFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

ORGANIZATIONS = "/customers/organizations/options/"
DEPARTMENTS = "/customers/departments/options/"
CREDIT_CODE = "91310000631234567" + credit_code_check_character("91310000631234567")


def labels(response) -> list[str]:
    assert response.status_code == 200
    return [row["label"] for row in response.json()["results"]]


def test_searching_needs_a_signed_in_user(client):
    for url in (ORGANIZATIONS, DEPARTMENTS):
        response = client.get(url, {"q": "医院"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_searching_needs_the_right_to_see_organisations(client, company):
    client.force_login(UserFactory(organization=company))  # no role, no permission
    assert client.get(ORGANIZATIONS, {"q": "医院"}).status_code == 404
    assert client.get(DEPARTMENTS, {"q": "科"}).status_code == 404


def test_a_name_part_finds_the_organisations_names_starting_with_it_first(client, manager):
    first = OrganizationFactory(name="市第一人民医院", city="苏州")
    OrganizationFactory(name="上海市第一妇幼保健院")
    OrganizationFactory(name="县中医院")
    client.force_login(manager)

    assert labels(client.get(ORGANIZATIONS, {"q": "第一"})) == [
        "上海市第一妇幼保健院",
        "市第一人民医院",
    ]
    response = client.get(ORGANIZATIONS, {"q": "市第一"})
    assert labels(response) == ["市第一人民医院", "上海市第一妇幼保健院"]
    assert response.json()["results"][0] == {
        "id": first.pk,
        "label": "市第一人民医院",
        "detail": "苏州",
    }
    assert labels(client.get(ORGANIZATIONS, {"q": "儿童医院"})) == []


def test_the_credit_code_finds_its_organisation(client, manager):
    found = OrganizationFactory(name="县中医院", credit_code=CREDIT_CODE, city="昆山")
    OrganizationFactory(name="市第一人民医院")
    client.force_login(manager)

    response = client.get(ORGANIZATIONS, {"q": CREDIT_CODE[:8].lower()})

    assert response.json() == {
        "results": [{"id": found.pk, "label": "县中医院", "detail": f"昆山 · {CREDIT_CODE}"}],
        "more": False,
    }


def test_at_most_twenty_are_returned_and_the_user_is_told_there_are_more(client, manager):
    names = [f"连锁门店-{number:02d}" for number in range(25)]
    for name in names:
        OrganizationFactory(name=name, kind="store")
    client.force_login(manager)

    everything = client.get(ORGANIZATIONS, {"q": "连锁门店"}).json()
    narrowed = client.get(ORGANIZATIONS, {"q": "门店-2"}).json()

    assert [row["label"] for row in everything["results"]] == names[:20]
    assert everything["more"] is True
    assert [row["label"] for row in narrowed["results"]] == names[20:]
    assert narrowed["more"] is False


def test_a_customer_finds_its_own_organisation_only(client, customer_a, hospital_a, hospital_b):
    client.force_login(customer_a)

    assert labels(client.get(ORGANIZATIONS, {"q": ""})) == [hospital_a.name]
    assert labels(client.get(ORGANIZATIONS, {"q": hospital_b.name})) == []


def test_a_distributor_finds_itself_and_the_organisations_it_serves(
    client, distributor, distributor_engineer, hospital_a, hospital_b
):
    hospital_a.served_by.add(distributor)
    client.force_login(distributor_engineer)

    assert labels(client.get(ORGANIZATIONS, {"q": ""})) == sorted(
        [distributor.name, hospital_a.name]
    )
    assert labels(client.get(ORGANIZATIONS, {"q": "医院"})) == [hospital_a.name]
    assert labels(client.get(ORGANIZATIONS, {"q": hospital_b.name})) == []


def test_the_search_takes_the_same_queries_whatever_the_number_of_organisations(client, manager):
    client.force_login(manager)
    for number in range(3):
        OrganizationFactory(name=f"候选医院-{number:03d}")
    with CaptureQueriesContext(connection) as few:
        assert len(labels(client.get(ORGANIZATIONS, {"q": "候选"}))) == 3
    for number in range(3, 60):
        OrganizationFactory(name=f"候选医院-{number:03d}")
    with CaptureQueriesContext(connection) as many:
        assert len(labels(client.get(ORGANIZATIONS, {"q": "候选"}))) == 20
    assert len(many.captured_queries) == len(few.captured_queries)


def test_departments_are_searched_within_the_chosen_organisation(
    client, manager, hospital_a, hospital_b
):
    cardiology = DepartmentFactory(organization=hospital_a, name="心内科")
    DepartmentFactory(organization=hospital_a, name="放射科")
    DepartmentFactory(organization=hospital_b, name="心外科")
    client.force_login(manager)

    within = client.get(DEPARTMENTS, {"q": "心", "organization": hospital_a.pk}).json()
    anywhere = client.get(DEPARTMENTS, {"q": "心", "organization": ""}).json()

    assert within == {
        "results": [{"id": cardiology.pk, "label": "心内科", "detail": hospital_a.name}],
        "more": False,
    }
    assert [(row["label"], row["detail"]) for row in anywhere["results"]] == [
        ("心内科", hospital_a.name),
        ("心外科", hospital_b.name),
    ]
    assert labels(client.get(DEPARTMENTS, {"organization": hospital_a.pk})) == ["心内科", "放射科"]
    assert labels(client.get(DEPARTMENTS, {"q": "心", "organization": "abc"})) == []
    assert labels(client.get(DEPARTMENTS, {"organization": "99999999999999999999"})) == []


def test_a_customer_finds_no_department_of_another_organisation(
    client, customer_a, hospital_a, hospital_b
):
    DepartmentFactory(organization=hospital_a, name="心内科")
    DepartmentFactory(organization=hospital_b, name="心外科")
    client.force_login(customer_a)

    assert labels(client.get(DEPARTMENTS, {"q": "心"})) == ["心内科"]
    assert labels(client.get(DEPARTMENTS, {"q": "心", "organization": hospital_b.pk})) == []


# --- The customers' own lists and forms ---------------------------------------------------------


def test_a_customers_contact_and_department_lists_name_no_other_organisation(
    client, customer_a, hospital_a, hospital_b, distributor
):
    """These filters used to list every organisation and department in the database."""
    ContactFactory(organization=hospital_a)
    DepartmentFactory(organization=hospital_a, name="心内科")
    DepartmentFactory(organization=hospital_b, name="心外科")
    client.force_login(customer_a)

    for url in ("/customers/contacts/", "/customers/departments/", "/customers/organizations/"):
        page = client.get(url).content.decode()
        assert hospital_b.name not in page, url
        assert distributor.name not in page, url
        assert "心外科" not in page, url


def test_the_contact_list_filter_shows_the_chosen_organisation_and_department(
    client, agent, hospital_a, hospital_b
):
    cardiology = DepartmentFactory(organization=hospital_a, name="心内科")
    DepartmentFactory(organization=hospital_b, name="心外科")
    client.force_login(agent)

    page = client.get(
        "/customers/contacts/", {"organization": hospital_a.pk, "department": cardiology.pk}
    ).content.decode()

    assert f'<input type="hidden" name="organization" value="{hospital_a.pk}"' in page
    assert f'<input type="hidden" name="department" value="{cardiology.pk}"' in page
    assert 'value="心内科"' in page
    assert hospital_b.name not in page
    assert "心外科" not in page


def test_the_contact_form_refuses_an_organisation_the_user_may_not_see(
    client, distributor, hospital_a, hospital_b
):
    from medservice.core.registry import RESOURCES
    from medservice.core.testing import grant_all_permissions

    hospital_a.served_by.add(distributor)
    engineer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor)
    grant_all_permissions(engineer, RESOURCES["contacts"])
    client.force_login(engineer)

    response = client.post(
        "/customers/contacts/new/", {"organization": hospital_b.pk, "name": "张医生"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice. That choice is not one of the available choices." in page
    assert hospital_b.name not in page
