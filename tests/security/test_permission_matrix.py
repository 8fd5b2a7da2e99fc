"""The permission matrix: every role against every API endpoint and every workflow action.

Nothing here lists who may do what. The expected answer of each cell is derived from the role
map (accounts/roles.py: the same patterns `roles_sync` gives the groups) and from each app's
transitions table, so a role or a transition added later is checked without editing this file:

- a generic endpoint (list, retrieve, create, update) asks the model permission of its method:
  without it 403, with it the request goes on (a missing record then answers 404);
- a workflow action on another organisation's record answers 404; without the transition's
  permission 403 (or 404 when the role may not read such records at all) (before the input is read: an empty body still gets 403, not 400); with it the
  action is not refused for the role (it may still be 200, 400 or 409).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from medservice.accounts.choices import Role
from medservice.accounts.roles import ROLE_PERMISSIONS, permissions_matching
from medservice.core.api.permissions import ModelPermissions
from medservice.core.api.viewsets import ResourceViewSet
from medservice.core.workflow import Transition
from medservice.quality.accidents import TRANSITIONS as ACCIDENT_TRANSITIONS
from medservice.quality.capa import TRANSITIONS as CAPA_TRANSITIONS
from medservice.returns.workflow import TRANSITIONS as RETURN_TRANSITIONS
from medservice.tickets.workflow import TRANSITIONS as TICKET_TRANSITIONS
from medservice.work_orders.workflow import TRANSITIONS as WORK_ORDER_TRANSITIONS
from tests.conftest import Api
from tests.factories import CompanyFactory, DistributorFactory, OrganizationFactory, user_with_role
from tests.quality.factories_accidents import accident_recorded
from tests.quality.factories_capa import CapaFactory
from tests.returns.factories import ReturnRequestFactory
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

MISSING_PK = 2_000_000_000
ROLES = sorted(str(role) for role in ROLE_PERMISSIONS)
# Users whose organisation decides what they see (DESIGN.md "Scope"): customers see their own
# organisation, distributors the organisations they serve, store staff their own store. Each is tried at home (the record's
# organisation, or one its distributor serves) and as an outsider (another organisation).
SCOPED_ROLES = {str(Role.CUSTOMER_USER), str(Role.DISTRIBUTOR_ENGINEER), str(Role.STORE_STAFF)}


def router_registry() -> list[tuple[str, type]]:
    from medservice.config.api_urls import router

    return [(prefix, viewset) for prefix, viewset, _basename in router.registry]


@cache
def role_permissions(role: str) -> frozenset[str]:
    """The "app_label.codename" names the role map gives `role` (as roles_sync does)."""
    permissions = list(Permission.objects.select_related("content_type"))
    return frozenset(
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in permissions_matching(ROLE_PERMISSIONS[role], permissions)
    )


def model_permission(viewset: type, action: str) -> str:
    meta = viewset.resource.model._meta
    return f"{meta.app_label}.{action}_{meta.model_name}"


def generic_endpoints() -> list[tuple[str, type]]:
    """The router's resource endpoints guarded by the model permissions alone."""
    chosen = []
    for prefix, viewset in router_registry():
        if not issubclass(viewset, ResourceViewSet):
            continue
        if list(viewset.permission_classes) != [ModelPermissions]:
            continue
        chosen.append((prefix, viewset))
    return chosen


def subject(role: str, *, home: Any, outsider: bool = False) -> Any:
    """A user of `role` in the organisation the role belongs to."""
    if role in (Role.CUSTOMER_USER, Role.STORE_STAFF):
        organization = OrganizationFactory(name="另一家医院") if outsider else home
    elif role == Role.DISTRIBUTOR_ENGINEER:
        organization = DistributorFactory(name="经销商")
        if not outsider:
            home.served_by.add(organization)
    else:
        organization = CompanyFactory(name="公司")
    return user_with_role(role, organization)


# --- Generic endpoints: list, retrieve, create, update --------------------------------------


@dataclass(frozen=True)
class Endpoint:
    prefix: str
    method: str  # list, retrieve, create, update

    def __str__(self) -> str:
        return f"{self.prefix}:{self.method}"


METHOD_PERMISSION = {"list": "view", "retrieve": "view", "create": "add", "update": "change"}


def role_endpoints() -> list[Endpoint]:
    endpoints = []
    for prefix, viewset in generic_endpoints():
        methods = ["list", "retrieve"]
        if "post" in viewset.http_method_names:
            methods.append("create")
        if "put" in viewset.http_method_names:
            methods.append("update")
        endpoints += [Endpoint(prefix, method) for method in methods]
    return endpoints


def call(client: Any, endpoint: Endpoint) -> Any:
    base = f"/api/v1/{endpoint.prefix}/"
    if endpoint.method == "list":
        return client.get(base)
    if endpoint.method == "retrieve":
        return client.get(f"{base}{MISSING_PK}/")
    if endpoint.method == "create":
        return client.post(base, {}, format="json")
    return client.put(f"{base}{MISSING_PK}/", {}, format="json")


def expected_endpoint_status(role: str, endpoint: Endpoint) -> str:
    viewset = dict(router_registry())[endpoint.prefix]
    needed = model_permission(viewset, METHOD_PERMISSION[endpoint.method])
    if needed not in role_permissions(role):
        return "403"
    # A record id no one has: the role may ask, and learns only that it is not there.
    return {"list": "200", "retrieve": "404", "create": "allowed", "update": "404"}[endpoint.method]


def outcome(status_code: int) -> str:
    if status_code in (403, 404, 200):
        return str(status_code)
    # 405: POST exists for the record's actions only; the permission check, which runs before
    # the method is looked at, let the role through.
    return "allowed" if status_code in (201, 400, 405, 409) else f"unexpected {status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_from_each_endpoint_what_its_permissions_give(role):
    # given a user of the role
    client = Api().as_user(subject(role, home=OrganizationFactory(name="医院")))

    # when they call every generic endpoint (one test per role: a test database per cell
    # would cost the suite minutes)
    differences = {}
    for endpoint in role_endpoints():
        got = outcome(call(client, endpoint).status_code)
        expected = expected_endpoint_status(role, endpoint)
        if got != expected:
            differences[str(endpoint)] = f"expected {expected}, got {got}"

    # then every answer is the one the role map decides
    assert differences == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "prefix", [prefix for prefix, viewset in router_registry() if hasattr(viewset, "list")]
)
def test_no_endpoint_answers_a_caller_without_a_token(prefix):
    # given no credentials; when the list is asked for; then it is refused as unauthenticated
    response = Api().anonymous().get(f"/api/v1/{prefix}/")

    assert response.status_code == 401


# --- Workflow actions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Workflow:
    prefix: str
    transitions: dict[str, Transition]
    make: Callable[[Any], Any]  # the organisation -> a record of it
    organization_scoped: bool = True

    def __str__(self) -> str:
        return self.prefix


WORKFLOWS = [
    Workflow(
        "tickets", TICKET_TRANSITIONS, lambda organization: TicketFactory(organization=organization)
    ),
    Workflow(
        "work-orders",
        WORK_ORDER_TRANSITIONS,
        lambda organization: WorkOrderFactory(device__organization=organization),
    ),
    Workflow(
        "returns",
        RETURN_TRANSITIONS,
        lambda organization: ReturnRequestFactory(organization=organization),
    ),
    # A CAPA is the company's own record: no customer or distributor scope applies.
    Workflow(
        "capas", CAPA_TRANSITIONS, lambda organization: CapaFactory(), organization_scoped=False
    ),
    # So is a quality accident, recorded by quality staff through the service.
    Workflow(
        "quality-accidents",
        ACCIDENT_TRANSITIONS,
        lambda organization: accident_recorded(
            actor=user_with_role(Role.QUALITY_STAFF, CompanyFactory(name="质量部"))
        ),
        organization_scoped=False,
    ),
]


def refused_up_front(workflow: Workflow) -> list[str]:
    """The actions the viewset refuses by role before reading the input: its transitions table.
    One the viewset leaves out (a CAPA action's owner completes it without any CAPA
    permission) is decided per person by its service, after the input; its tests are the app's."""
    viewset = dict(router_registry())[workflow.prefix]
    return [name for name in workflow.transitions if name in (viewset.transitions or {})]


def action_cases() -> list[Any]:
    return [
        pytest.param(workflow, role, id=f"{workflow}-{role}")
        for workflow in WORKFLOWS
        for role in ROLES
    ]


def expected_action_outcome(workflow: Workflow, name: str, role: str, *, outsider: bool) -> str:
    viewset = dict(router_registry())[workflow.prefix]
    if outsider:
        return "404"
    if workflow.transitions[name].permission not in role_permissions(role):
        # Internal staff may find the record (their scope is the company's) but not act on it;
        # 404 also stands when the role may not even read such records.
        return "403" if model_permission(viewset, "view") in role_permissions(role) else "refused"
    return "allowed"


@pytest.mark.django_db
@pytest.mark.parametrize(("workflow", "role"), action_cases())
def test_each_role_may_take_exactly_the_workflow_actions_its_permissions_give(workflow, role):
    # given a record of a hospital, a user of the role in scope and, for the roles whose
    # organisation decides their scope, one outside it
    hospital = OrganizationFactory(name="医院")
    record = workflow.make(hospital)
    users = {False: subject(role, home=hospital)}
    if role in SCOPED_ROLES and workflow.organization_scoped:
        users[True] = subject(role, home=hospital, outsider=True)

    # when each takes each action with an empty body (a refusal for the role changes nothing;
    # an allowed one may move the record on, which changes only 200/409, not the role's answer)
    differences = {}
    for outsider, user in users.items():
        client = Api().as_user(user)
        for name in refused_up_front(workflow):
            response = client.post(
                f"/api/v1/{workflow.prefix}/{record.pk}/{name}/", {}, format="json"
            )
            expected = expected_action_outcome(workflow, name, role, outsider=outsider)
            got = str(response.status_code) if response.status_code in (403, 404) else "allowed"
            if expected == "refused":
                got = "refused" if got in ("403", "404") else got
            elif expected == "403" and response.json()["error"]["code"] != "permission_denied":
                got = "403 without the permission_denied code"
            if got != expected:
                differences[f"{name}{' (outsider)' if outsider else ''}"] = (
                    f"expected {expected}, got {response.status_code}: {response.content[:120]!r}"
                )

    # then out of scope is 404, a role without the permission 403 (never 400), else not refused
    assert differences == {}
