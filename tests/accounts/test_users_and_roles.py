from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from medservice.accounts.choices import Role
from tests.factories import UserFactory, user_with_role


@pytest.mark.django_db
def test_every_role_exists_as_a_group():
    assert set(Group.objects.values_list("name", flat=True)) >= {str(role) for role in Role}


@pytest.mark.django_db
def test_the_auditor_reads_everything_and_changes_nothing():
    auditor = Group.objects.get(name="auditor")
    codenames = set(auditor.permissions.values_list("codename", flat=True))
    assert {"view_organization", "view_auditevent", "view_user"} <= codenames
    assert not [name for name in codenames if not name.startswith("view_")]


@pytest.mark.django_db
def test_a_customer_user_reads_and_only_acts_on_its_own_requests():
    customer = Group.objects.get(name="customer_user")
    codenames = set(customer.permissions.values_list("codename", flat=True))
    assert "view_organization" in codenames
    # In the portal a customer opens requests, adds to them and answers for itself (agree,
    # confirm, reject, reopen, rate; approve or decline a quote, sign a service report);
    # asks to return products with the proof of purchase; nothing else is written by a customer.
    assert sorted(name for name in codenames if not name.startswith("view_")) == [
        "add_returnfile",
        "add_returnrequest",
        "add_ticket",
        "add_timelineentry",
        "respond_ticket",
        "respond_workorder",
        "sign_workorder",
    ]


@pytest.mark.django_db
def test_only_quality_roles_and_administrators_change_catalogue_master_data():
    writers = {
        group.name
        for group in Group.objects.filter(permissions__codename="change_devicemodel").distinct()
    }
    assert writers == {"administrator", "quality_staff", "quality_manager"}


@pytest.mark.django_db
def test_a_customer_sees_only_the_users_of_its_own_organisation(api, customer_a, hospital_b):
    colleague = UserFactory(organization=customer_a.organization)
    stranger = UserFactory(organization=hospital_b)
    client = api.as_user(customer_a)
    names = {row["username"] for row in client.get("/api/v1/users/").json()["results"]}
    assert names == {customer_a.username, colleague.username}
    assert client.get(f"/api/v1/users/{stranger.pk}/").status_code == 404


@pytest.mark.django_db
def test_users_me_tells_the_roles(api, company):
    engineer = user_with_role(Role.FIELD_ENGINEER, company)
    body = api.as_user(engineer).get("/api/v1/users/me/").json()
    assert (body["username"], body["roles"]) == (engineer.username, ["field_engineer"])


@pytest.mark.django_db
def test_a_role_change_is_audited_but_the_password_hash_never_is(company):
    from medservice.core.models import AuditEvent

    user = UserFactory(organization=company)
    user.set_password("another-long-password")
    user.first_name = "大明"
    user.save()
    events = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk))
    assert all("password" not in event.changes for event in events)
    assert events.order_by("-id").first().changes == {"first_name": ["小明", "大明"]}
