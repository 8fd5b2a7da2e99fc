"""The permission matrix: every role against every API endpoint and every workflow action.

Nothing here lists who may do what. The expected answer of each cell is derived from the role
map (accounts/roles.py: the same patterns `roles_sync` gives the groups), from each app's
transitions table and from the viewsets' action permissions, so a role or a transition added
later is checked without editing this file:

- a generic endpoint (list, retrieve, create, update) asks the model permission of its method:
  without it 403, with it the request goes on (a missing record then answers 404);
- a POST action on a record (tickets, work orders, returns, CAPA, accidents, recalls,
  requisitions, purchase orders, stock counts, knowledge articles, instruments, staff trainings,
  certifications, document versions, reviews, violations) that the user's selector does not
  show answers 404; without the action's permission 403, before the input is read (an empty
  body still gets 403, not 400); with it the action is not refused for the role (it may still
  be 200, 400 or 409, or 403 from a person rule of the table);
- every POST action on a record of every resource viewset is either refused by role up front
  or listed in DECIDED_AFTER_THE_INPUT, so a new action cannot silently skip the check.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from medservice.accounts.choices import Role
from medservice.accounts.roles import ROLE_PERMISSIONS, permissions_matching
from medservice.core.api.permissions import ModelPermissions
from medservice.core.api.viewsets import ResourceViewSet
from medservice.core.workflow import Transition
from medservice.inventory.counts import stock_count_start
from medservice.inventory.models import PartLot
from medservice.inventory.purchasing import purchase_order_create
from medservice.inventory.requisitions import requisition_create
from medservice.inventory.workflow import (
    PURCHASE_ORDER_TRANSITIONS,
    REQUISITION_TRANSITIONS,
    STOCK_COUNT_TRANSITIONS,
)
from medservice.quality.accidents import TRANSITIONS as ACCIDENT_TRANSITIONS
from medservice.quality.adverse_events import TRANSITIONS as REPORT_TRANSITIONS
from medservice.quality.capa import TRANSITIONS as CAPA_TRANSITIONS
from medservice.quality.decisions import CASE_TRANSITIONS, NOTICE_TRANSITIONS, notice_create
from medservice.quality.recalls import RECALL_TRANSITIONS, recall_create
from medservice.returns.workflow import TRANSITIONS as RETURN_TRANSITIONS
from medservice.tickets.workflow import TRANSITIONS as TICKET_TRANSITIONS
from medservice.training.choices import DocumentKind
from medservice.training.documents import document_create, document_version_add
from medservice.training.knowledge import article_create
from medservice.training.people import review_create, violation_record
from medservice.training.workflow import ARTICLE_TRANSITIONS
from medservice.work_orders.workflow import TRANSITIONS as WORK_ORDER_TRANSITIONS
from tests.catalog.factories import DeviceModelFactory
from tests.conftest import Api
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DistributorFactory,
    OrganizationFactory,
    user_with_role,
)
from tests.feedback.factories_stores import OpinionEntryFactory, ShortageEntryFactory
from tests.installed_base.factories import DeviceFactory, licensed_supplier
from tests.inventory.factories import (
    InstrumentFactory,
    LocationFactory,
    LotPartFactory,
    PartFactory,
)
from tests.quality.factories_accidents import accident_recorded, case_recorded
from tests.quality.factories_adverse_events import report_at, shanghai
from tests.quality.factories_capa import CapaFactory
from tests.returns.factories import ReturnRequestFactory
from tests.tickets.factories import TicketFactory
from tests.training.factories import CertificationFactory, SessionFactory
from tests.work_orders.factories import WorkOrderFactory

MISSING_PK = 2_000_000_000
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
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
    transitions: dict[str, Transition] | None  # the app's table; None: action permissions only
    make: Callable[[Any], Any]  # the organisation -> a record of it
    organization_scoped: bool = True

    def __str__(self) -> str:
        return self.prefix


def staff(role: str) -> Any:
    """A company user of `role` who writes the records the matrix acts on."""
    return user_with_role(role, CompanyFactory(name="公司总部"))


def make_recall(organization: Any) -> Any:
    return recall_create(
        actor=staff(Role.QUALITY_STAFF),
        data={
            "kind": "recall", "recall_class": "II", "device_model": DeviceModelFactory(),
            "batch_number": "2303", "reason": "电源模块过热", "instructions": "停止使用",
            "handling": "repair", "responsible_phone": "400-800-1234",
        },
    )  # fmt: skip


def make_requisition(organization: Any) -> Any:
    return requisition_create(
        actor=staff(Role.FIELD_ENGINEER), source=LocationFactory(), lines=[(PartFactory(), 1)]
    )


def make_purchase_order(organization: Any) -> Any:
    return purchase_order_create(
        actor=staff(Role.WAREHOUSE_KEEPER),
        supplier=licensed_supplier(),
        destination=LocationFactory(),
        lines=[{"part": PartFactory(), "quantity": 1, "unit_price": 10}],
    )


def make_document_version(organization: Any) -> Any:
    author = staff(Role.QUALITY_STAFF)
    document = document_create(
        actor=author, data={"code": "SM-1", "title": "维修手册", "kind": DocumentKind.MANUAL}
    )
    upload = SimpleUploadedFile("manual.pdf", MINIMAL_PDF, content_type="application/pdf")
    return document_version_add(
        actor=author, document=document, version_label="A/0", file=upload, change_summary="首版"
    )


def make_review(organization: Any) -> Any:
    return review_create(
        actor=staff(Role.SERVICE_MANAGER),
        data={
            "person": staff(Role.FIELD_ENGINEER),
            "period_start": datetime.date(2026, 1, 1),
            "period_end": datetime.date(2026, 3, 31),
            "score": Decimal("86"),
        },
    )


def make_violation(organization: Any) -> Any:
    return violation_record(
        actor=staff(Role.SERVICE_MANAGER),
        data={
            "person": staff(Role.FIELD_ENGINEER),
            "occurred_on": datetime.date(2026, 1, 5),
            "description": "未按规定填写服务报告",
        },
    )


def make_quality_case(organization: Any) -> Any:
    return case_recorded(actor=staff(Role.QUALITY_STAFF))


def make_supplier_notice(organization: Any) -> Any:
    return notice_create(
        actor=staff(Role.QUALITY_STAFF),
        case=make_quality_case(organization),
        recipient_kind="supplier",
        reason="case_opened",
    )


def make_adverse_event_report(organization: Any) -> Any:
    return report_at(
        shanghai(2026, 9, 28, 10, 0),
        actor=staff(Role.QUALITY_STAFF),
        device=DeviceFactory(organization=organization),
        market="CN",
        outcome="death",
    )


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
    # Recalls, the stock workflows, the knowledge base, training and instruments are the
    # company's own records too.
    Workflow("recalls", RECALL_TRANSITIONS, make_recall, organization_scoped=False),
    Workflow("requisitions", REQUISITION_TRANSITIONS, make_requisition, organization_scoped=False),
    Workflow(
        "purchase-orders",
        PURCHASE_ORDER_TRANSITIONS,
        make_purchase_order,
        organization_scoped=False,
    ),
    Workflow(
        "stock-counts",
        STOCK_COUNT_TRANSITIONS,
        lambda organization: stock_count_start(
            actor=staff(Role.WAREHOUSE_KEEPER), location=LocationFactory()
        ),
        organization_scoped=False,
    ),
    Workflow(
        "knowledge-articles",
        ARTICLE_TRANSITIONS,
        lambda organization: article_create(
            actor=staff(Role.QUALITY_STAFF), title="血氧读数不稳", body="更换探头后复测。"
        ),
        organization_scoped=False,
    ),
    Workflow(
        "instruments", None, lambda organization: InstrumentFactory(), organization_scoped=False
    ),
    Workflow(
        "staff-trainings", None, lambda organization: SessionFactory(), organization_scoped=False
    ),
    Workflow(
        "certifications",
        None,
        lambda organization: CertificationFactory(
            person=staff(Role.FIELD_ENGINEER), device_model=DeviceModelFactory()
        ),
        organization_scoped=False,
    ),
    Workflow("document-versions", None, make_document_version, organization_scoped=False),
    Workflow("performance-reviews", None, make_review, organization_scoped=False),
    Workflow("violations", None, make_violation, organization_scoped=False),
    # A store's opinion book and out-of-stock register are the store's: store staff see their
    # own store's only.
    Workflow("opinion-entries", None, lambda organization: OpinionEntryFactory(store=organization)),
    Workflow(
        "shortage-entries", None, lambda organization: ShortageEntryFactory(store=organization)
    ),
    # A contact belongs to its organisation: customers and distributors see it at home only.
    Workflow("contacts", None, lambda organization: ContactFactory(organization=organization)),
    Workflow(
        "part-lots",
        None,
        lambda organization: PartLot.objects.create(part=LotPartFactory(), lot_number="L2603"),
        organization_scoped=False,
    ),
    # Quality cases, their supplier notices and adverse-event reports are internal records:
    # customers and distributors never see them, at home or away.
    Workflow("quality-cases", CASE_TRANSITIONS, make_quality_case, organization_scoped=False),
    Workflow(
        "supplier-notices", NOTICE_TRANSITIONS, make_supplier_notice, organization_scoped=False
    ),
    Workflow(
        "adverse-event-reports",
        REPORT_TRANSITIONS,
        make_adverse_event_report,
        organization_scoped=False,
    ),
]

# POST actions on a record that no role table guards up front yet: each is decided by its
# service (a permission, or a person rule such as "the action's owner"), after the input is
# read. Listed so that a new action must either be guarded or added here on purpose.
DECIDED_AFTER_THE_INPUT = {
    "business-calendars": {"refresh"},
    "devices": {"accept"},
    # ChangeByAction refuses a role without installed_base.change_hold before the input; an
    # evidence hold also needs quality.release_evidence_hold, which depends on the hold's kind
    # and is asked by hold_release after the reason is read.
    "holds": {"release"},
    # withdrawing asks the approver's permission or the editor's, by the version's state
    "document-versions": {"withdraw"},
    "documents": {"versions"},
    "tickets": {"comments"},
    # the owner of a CAPA action completes it without any CAPA permission
    "capas": {"complete-action"},
    "returns": {"attach"},
    "acceptances": {"attach", "sign"},
    "operator-trainings": {"attach"},
    "retraining-suggestions": {"dismiss", "schedule"},
    "follow-ups": {"outcome"},
    "customer-visits": {"opinions"},
    "visit-opinions": {"answer"},
    "surveys": {"send"},
    "survey-escalations": {"answer"},
    "correspondence": {"files"},
    "evaluation-reports": {"improvement-actions"},
}


def post_actions(viewset: type) -> list[str]:
    """The URL names of the viewset's POST actions on one record."""
    return [
        extra.url_path
        for extra in viewset.get_extra_actions()
        if extra.detail and "post" in extra.mapping
    ]


def refused_up_front(workflow: Workflow) -> dict[str, str]:
    """The actions the viewset refuses by role before reading the input, with the permission
    each needs: its app's transitions table (the rows the viewset serves) and the permissions of
    the actions without one. An action the viewset leaves out is decided per person by its
    service, after the input; its tests are the app's."""
    viewset = dict(router_registry())[workflow.prefix]
    served = viewset.transitions or {}
    needed = {
        name: transition.permission
        for name, transition in (workflow.transitions or {}).items()
        if name in served
    }
    return {**needed, **(viewset.action_permissions or {})}


def test_every_post_action_on_a_record_is_refused_by_role_up_front_or_listed():
    # given every resource viewset of the router; when their POST actions on a record are
    # compared with what each refuses by role before the input
    unguarded = {}
    for prefix, viewset in router_registry():
        if not issubclass(viewset, ResourceViewSet):
            continue
        guarded = set(viewset.transitions or {}) | set(viewset.action_permissions or {})
        missing = set(post_actions(viewset)) - guarded - DECIDED_AFTER_THE_INPUT.get(prefix, set())
        if missing:
            unguarded[prefix] = sorted(missing)

    # then none is left to validate its input for a role that may not take it
    assert unguarded == {}


def test_every_viewset_that_refuses_up_front_is_in_the_matrix():
    # given the viewsets with a role table; then the matrix below acts on each of them
    tried = {workflow.prefix for workflow in WORKFLOWS}
    guarded = {
        prefix
        for prefix, viewset in router_registry()
        if issubclass(viewset, ResourceViewSet)
        and (viewset.transitions or viewset.action_permissions)
    }

    assert guarded - tried == set()


def action_cases() -> list[Any]:
    return [
        pytest.param(workflow, role, id=f"{workflow}-{role}")
        for workflow in WORKFLOWS
        for role in ROLES
    ]


def expected_action_outcome(permission: str, role: str, *, visible: bool) -> str:
    """What the role's user gets for an action needing `permission` on a record the viewset's
    selector does (`visible`) or does not show them."""
    allowed_by_role = permission in role_permissions(role)
    if not visible:
        # Out of the user's scope (another organisation; another person's record) the record
        # is not there; a role the action is not for may be refused before that is looked up.
        return "404" if allowed_by_role else "refused"
    return "allowed" if allowed_by_role else "403"


def person_decides(workflow: Workflow, name: str) -> bool:
    """Whether the table lets the service refuse this person after the role (the requester
    never approves their own request): a 403 then is the person's, not the role's."""
    transition = (workflow.transitions or {}).get(name)
    return transition is not None and transition.person_rule is not None


@pytest.mark.django_db
@pytest.mark.parametrize(("workflow", "role"), action_cases())
def test_each_role_may_take_exactly_the_workflow_actions_its_permissions_give(
    workflow, role, settings, tmp_path
):
    # given a record of a hospital, a user of the role in scope and, for the roles whose
    # organisation decides their scope, one outside it
    settings.MEDIA_ROOT = tmp_path
    hospital = OrganizationFactory(name="医院")
    record = workflow.make(hospital)
    users = {False: subject(role, home=hospital)}
    if role in SCOPED_ROLES and workflow.organization_scoped:
        users[True] = subject(role, home=hospital, outsider=True)

    # when each takes each action with an empty body (a refusal for the role changes nothing;
    # an allowed one may move the record on, which changes only 200/409, not the role's answer)
    differences = {}
    resource = dict(router_registry())[workflow.prefix].resource
    for outsider, user in users.items():
        client = Api().as_user(user)
        visible = resource.queryset_for(user).filter(pk=record.pk).exists()
        for name, permission in refused_up_front(workflow).items():
            response = client.post(
                f"/api/v1/{workflow.prefix}/{record.pk}/{name}/", {}, format="json"
            )
            expected = expected_action_outcome(permission, role, visible=visible)
            got = str(response.status_code) if response.status_code in (403, 404) else "allowed"
            if expected == "refused":
                got = "refused" if got in ("403", "404") else got
            elif expected == "allowed" and got == "403" and person_decides(workflow, name):
                got = "allowed"
            elif expected == "403" and response.json()["error"]["code"] != "permission_denied":
                got = "403 without the permission_denied code"
            if got != expected:
                differences[f"{name}{' (outsider)' if outsider else ''}"] = (
                    f"expected {expected}, got {response.status_code}: {response.content[:120]!r}"
                )

    # then out of scope is 404, a role without the permission 403 (never 400), else not refused
    # by role
    assert differences == {}
