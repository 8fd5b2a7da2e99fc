"""等保 2.0: the system, security and audit administrators are three roles, and none of them can
do another's job."""

from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from medservice.core.models import AuditEvent
from tests.factories import OrganizationFactory, user_with_role

# Each job, as the permissions that only its administrator holds among the three.
SYSTEM_JOB = {
    "customers.add_organization",
    "core.change_businesscalendar",
    "tickets.change_slapolicy",
}
SECURITY_JOB = {
    "accounts.add_user",
    "accounts.change_user",
    "auth.change_group",
    "auth.change_permission",
    "authtoken.delete_token",
    "axes.delete_accessattempt",
}
AUDIT_JOB = {"core.view_auditevent"}
SECURITY_LOGS = {"axes.view_accesslog", "axes.view_accessfailurelog", "axes.view_accessattempt"}
JOBS = {
    Role.ADMINISTRATOR: SYSTEM_JOB,
    Role.SECURITY_ADMINISTRATOR: SECURITY_JOB,
    Role.AUDIT_ADMINISTRATOR: AUDIT_JOB,
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(JOBS))
def test_each_administrator_does_its_own_job_and_no_other(company, role):
    # given an administrator of the role
    user = user_with_role(role, company, is_staff=True)

    # when we ask which of the three jobs' permissions it holds
    held = {
        other: {name for name in permissions if user.has_perm(name)}
        for other, permissions in JOBS.items()
    }

    # then all of its own and none of the others'
    assert held == {other: (JOBS[other] if other == role else set()) for other in JOBS}


@pytest.mark.django_db
def test_the_audit_administrator_reads_the_trail_and_security_logs_and_changes_nothing(company):
    user = user_with_role(Role.AUDIT_ADMINISTRATOR, company, is_staff=True)

    permissions = user.get_all_permissions()

    assert permissions >= SECURITY_LOGS | AUDIT_JOB
    assert sorted(name for name in permissions if ".view_" not in name) == []


@pytest.mark.django_db
def test_the_security_administrator_reads_the_security_logs_but_cannot_change_them(company):
    user = user_with_role(Role.SECURITY_ADMINISTRATOR, company, is_staff=True)

    assert user.get_all_permissions() >= SECURITY_LOGS
    assert [
        user.has_perm(name)
        for name in (
            "axes.change_accesslog",
            "axes.delete_accesslog",
            "axes.change_accessfailurelog",
            "axes.delete_accessfailurelog",
        )
    ] == [False, False, False, False]


@pytest.mark.django_db
def test_only_the_audit_administrator_and_the_auditors_read_the_audit_trail_api(api, company):
    # given an event in the trail
    OrganizationFactory(name="阳光诊所")
    answers = {}

    # when each administrator lists the audit trail
    for role in JOBS:
        user = user_with_role(role, company, is_staff=True)
        response = api.as_user(user).get("/api/v1/audit-events/")
        answers[role] = response.status_code

    # then the audit administrator reads it; the others see no trail (a record id is needed)
    assert answers == {
        Role.ADMINISTRATOR: 404,
        Role.SECURITY_ADMINISTRATOR: 404,
        Role.AUDIT_ADMINISTRATOR: 200,
    }
    assert AuditEvent.objects.filter(object_repr="阳光诊所").exists()


@pytest.mark.django_db
def test_the_audit_administrator_reads_events_in_the_admin_but_cannot_delete_them(client, company):
    OrganizationFactory()
    event = AuditEvent.objects.first()
    client.force_login(user_with_role(Role.AUDIT_ADMINISTRATOR, company, is_staff=True))

    assert client.get(f"/admin/core/auditevent/{event.pk}/change/").status_code == 200
    assert client.post(f"/admin/core/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/accounts/user/add/").status_code == 403


@pytest.mark.django_db
def test_the_security_administrator_manages_accounts_in_the_admin_but_not_the_trail(
    client, company
):
    OrganizationFactory()
    event = AuditEvent.objects.first()
    client.force_login(user_with_role(Role.SECURITY_ADMINISTRATOR, company, is_staff=True))

    assert client.get("/admin/accounts/user/add/").status_code == 200
    assert client.get(f"/admin/core/auditevent/{event.pk}/change/").status_code == 403


@pytest.mark.django_db
def test_the_system_administrator_no_longer_manages_accounts(client, company):
    client.force_login(user_with_role(Role.ADMINISTRATOR, company, is_staff=True))

    assert client.get("/admin/accounts/user/add/").status_code == 403
    assert client.get("/admin/axes/accessattempt/").status_code == 403
