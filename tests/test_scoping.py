"""Scoping over every declared resource: a customer of organisation A, and a distributor that
serves A, reach nothing of organisation B through any UI view or API endpoint.

A later app gets these checks by registering its Resource and adding one line to
RECORD_IN_ORGANIZATION below: how to make one of its records that belongs to an organisation.
"""

from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from medservice.core.registry import RESOURCES
from medservice.core.testing import (
    assert_record_is_in_scope,
    assert_record_is_out_of_scope,
    grant_all_permissions,
    unregistered_record_routes,
)
from tests.conftest import Api
from tests.factories import ContactFactory, DepartmentFactory, OrganizationFactory, user_with_role
from tests.feedback.factories_followups import (  # issue 10 follow-ups and surveys
    CustomerVisitFactory,
    FollowUpFactory,
    SurveyEscalationFactory,
    SurveyFactory,
    VisitOpinionFactory,
)
from tests.feedback.factories_stores import (
    LetterFactory,
    MissedReviewFactory,
    OpinionEntryFactory,
    OpinionReviewFactory,
    ShortageEntryFactory,
    StoreProfileFactory,
    store_of,
)
from tests.installed_base.factories import ContractFactory, DeliveryLineFactory, DeviceFactory
from tests.maintenance.factories import (
    AcceptanceRecordFactory,
    InstallationFactory,
    OperatorTrainingFactory,
    PmPlanFactory,
    PmVisitFactory,
    RetrainingSuggestionFactory,
    TrainingAttendeeFactory,
)
from tests.returns.factories import ReturnRequestFactory
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

# resource name -> function(organisation) returning a record that belongs to it.
RECORD_IN_ORGANIZATION = {
    "organizations": lambda organization: organization,
    "departments": lambda organization: DepartmentFactory(organization=organization),
    "contacts": lambda organization: ContactFactory(organization=organization),
    "devices": lambda organization: DeviceFactory(organization=organization),
    "deliveries": lambda organization: (
        DeliveryLineFactory(delivery__organization=organization).delivery
    ),
    "contracts": lambda organization: ContractFactory(
        organization=organization, devices=[DeviceFactory(organization=organization)]
    ),
    "tickets": lambda organization: TicketFactory(organization=organization),
    "work-orders": lambda organization: WorkOrderFactory(device__organization=organization),
    "returns": lambda organization: ReturnRequestFactory(organization=organization),
    # issue 10 stores
    "store-profiles": lambda organization: StoreProfileFactory(store=store_of(organization)),
    "opinion-entries": lambda organization: OpinionEntryFactory(store=store_of(organization)),
    "opinion-reviews": lambda organization: OpinionReviewFactory(store=store_of(organization)),
    "missed-reviews": lambda organization: MissedReviewFactory(store=store_of(organization)),
    "shortage-entries": lambda organization: ShortageEntryFactory(store=store_of(organization)),
    "correspondence": lambda organization: LetterFactory(organization=organization),
    # issue 10 maintenance
    "pm-plans": lambda organization: PmPlanFactory(device__organization=organization),
    "pm-visits": lambda organization: PmVisitFactory(plan__device__organization=organization),
    "installations": lambda organization: InstallationFactory(device__organization=organization),
    "acceptances": lambda organization: AcceptanceRecordFactory(device__organization=organization),
    "operator-trainings": lambda organization: OperatorTrainingFactory(organization=organization),
    "training-attendees": lambda organization: TrainingAttendeeFactory(
        training__organization=organization
    ),
    "retraining-suggestions": lambda organization: RetrainingSuggestionFactory(
        work_order__device__organization=organization
    ),
    # issue 10 follow-ups and surveys
    "follow-ups": lambda organization: FollowUpFactory(organization=organization),
    "customer-visits": lambda organization: CustomerVisitFactory(organization=organization),
    "visit-opinions": lambda organization: VisitOpinionFactory(visit__organization=organization),
    "surveys": lambda organization: SurveyFactory(organization=organization),
    "survey-escalations": lambda organization: SurveyEscalationFactory(
        survey__organization=organization
    ),
}


def test_every_resource_declares_how_to_make_its_records():
    scoped = [name for name, resource in RESOURCES.items() if resource.organization_scoped]
    assert sorted(scoped) == sorted(RECORD_IN_ORGANIZATION)


@pytest.mark.django_db
def test_every_route_taking_a_record_id_belongs_to_a_declared_resource():
    assert unregistered_record_routes() == []


@pytest.fixture
def world(db, distributor):
    """A: a hospital served by the distributor; B: a hospital nobody else serves."""
    organization_a = OrganizationFactory(name="A 医院")
    organization_a.served_by.add(distributor)
    organization_b = OrganizationFactory(name="B 医院")
    return {"a": organization_a, "b": organization_b, "distributor": distributor}


def signed_in(user, resource, client):
    grant_all_permissions(user, resource)
    client.force_login(user)
    return client, Api().as_user(user)


@pytest.mark.django_db
@pytest.mark.parametrize("resource_name", sorted(RECORD_IN_ORGANIZATION))
def test_a_customer_of_a_reaches_nothing_of_b(client, world, resource_name):
    resource = RESOURCES[resource_name]
    customer = user_with_role(Role.CUSTOMER_USER, world["a"])
    ui, api = signed_in(customer, resource, client)
    record_b = RECORD_IN_ORGANIZATION[resource_name](world["b"])
    record_a = RECORD_IN_ORGANIZATION[resource_name](world["a"])

    assert_record_is_out_of_scope(ui, api, resource, record_b)
    assert_record_is_in_scope(ui, api, resource, record_a)


@pytest.mark.django_db
@pytest.mark.parametrize("resource_name", sorted(RECORD_IN_ORGANIZATION))
def test_a_distributor_reaches_what_it_serves_and_nothing_else(client, world, resource_name):
    resource = RESOURCES[resource_name]
    engineer = user_with_role(Role.DISTRIBUTOR_ENGINEER, world["distributor"])
    ui, api = signed_in(engineer, resource, client)

    assert_record_is_out_of_scope(
        ui, api, resource, RECORD_IN_ORGANIZATION[resource_name](world["b"])
    )
    assert_record_is_in_scope(ui, api, resource, RECORD_IN_ORGANIZATION[resource_name](world["a"]))


@pytest.mark.django_db
@pytest.mark.parametrize("resource_name", sorted(RECORD_IN_ORGANIZATION))
def test_internal_staff_reach_every_organisations_records(client, world, company, resource_name):
    resource = RESOURCES[resource_name]
    manager = user_with_role(Role.SERVICE_MANAGER, company)
    ui, api = signed_in(manager, resource, client)
    for key in ("a", "b"):
        assert_record_is_in_scope(
            ui, api, resource, RECORD_IN_ORGANIZATION[resource_name](world[key])
        )


@pytest.mark.django_db
def test_a_customer_sees_a_department_of_its_own_organisation_but_not_its_parent(client, world):
    department = OrganizationFactory(name="A 医院 心内科", parent=world["a"], kind="other")
    customer = user_with_role(Role.CUSTOMER_USER, department)
    ui, api = signed_in(customer, RESOURCES["organizations"], client)
    assert_record_is_in_scope(ui, api, RESOURCES["organizations"], department)
    assert_record_is_out_of_scope(ui, api, RESOURCES["organizations"], world["a"])


@pytest.mark.django_db
def test_a_user_without_an_organisation_sees_nothing(client, world):
    from tests.factories import UserFactory

    loner = UserFactory(organization=None)
    _ui, api = signed_in(loner, RESOURCES["organizations"], client)
    assert api.get("/api/v1/organizations/").json()["count"] == 0
