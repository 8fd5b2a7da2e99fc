"""The decision outcomes that set off records owned by other areas of the quality app (CAPA,
adverse-event reports, quality accidents), and the case's facts that those records follow
(its awareness time, its retention)."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.models import Notification
from medservice.installed_base.services import hold_active_for
from medservice.quality.decisions import case_decide
from tests.factories import PASSWORD, user_with_role
from tests.installed_base.factories import DeliveryFactory, DeliveryLineFactory
from tests.quality.factories_decisions import case_of, product, unit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _role(settings):
    settings.QUALITY_REGULATORY_ROLE = "registrant"


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm")


@pytest.fixture
def setup(db):
    return product()


@pytest.fixture
def case(company, hospital_a, setup):
    staff = user_with_role(Role.QUALITY_STAFF, company, username="qa")
    return case_of(staff, unit(setup, hospital_a, serial_number="KM8-0200"), injury=True)


def decide(case, actor, **fields):
    fields.setdefault("rationale", "调查结论")
    fields.setdefault("markets", ["CN"])
    return case_decide(actor=actor, case=case, password=PASSWORD, **fields)


def test_a_service_issue_opens_an_improvement_with_the_salesperson(
    company, hospital_a, setup, quality_manager
):
    from medservice.quality.models import Capa

    salesperson = user_with_role(Role.SERVICE_AGENT, company, username="sales")
    service_manager = user_with_role(Role.SERVICE_MANAGER, company, username="sm")
    line = DeliveryLineFactory(
        delivery=DeliveryFactory(organization=hospital_a, salesperson=salesperson),
        device_model=setup["model"], batch_number="B2603", serial_number="KM8-0300", quantity=1,
    )  # fmt: skip
    staff = user_with_role(Role.QUALITY_STAFF, company, username="qa2")
    device = unit(setup, hospital_a, serial_number="KM8-0300", delivery_line=line)
    case = case_of(staff, device)
    decision = decide(case, quality_manager, outcome="service_issue",
                      rationale="未按约定时间回复客户")  # fmt: skip
    capa = Capa.objects.get(source_label=case.number)
    assert capa.kind == "improvement"
    assert decision.salesperson == salesperson
    assert [link.label for link in decision.links.all()] == [str(capa)]
    for person in (salesperson, service_manager):
        assert Notification.objects.filter(
            recipient=person, subject=f"{case.number}: service improvement needed"
        ).exists()


def test_a_reportable_adverse_event_opens_a_report_per_reportable_market(case, quality_manager):
    decision = decide(case, quality_manager, outcome="reportable_ae", harm="serious_injury",
                      markets=["CN", "US", "EU"], reportable_markets=["CN", "US"])  # fmt: skip
    assert case.adverse_event_reports.count() == 2
    assert sorted(case.adverse_event_reports.values_list("market", "outcome")) == [
        ("CN", "serious_injury"), ("US", "serious_injury"),
    ]  # fmt: skip
    assert [(row.market, row.reportable, row.rule_ids) for row in decision.markets.all()] == [
        ("CN", True, "CN-AE-1, CN-AE-2, CN-AE-3, CN-AE-4"), ("EU", False, ""),
        ("US", True, "US-MDR-1, US-MDR-2"),
    ]  # fmt: skip
    assert decision.links.count() == 2


def test_a_distributor_reports_in_china_and_tells_the_manufacturer(
    case, quality_manager, setup, settings
):
    settings.QUALITY_REGULATORY_ROLE = "distributor"
    decide(case, quality_manager, outcome="reportable_ae", harm="death",
           markets=["CN", "US"], reportable_markets=["CN", "US"])  # fmt: skip
    assert list(case.adverse_event_reports.values_list("market", flat=True)) == ["CN"]
    notice = case.supplier_notices.get(reason="adverse_event")
    assert (notice.recipient_kind, notice.manufacturer) == ("manufacturer", setup["manufacturer"])


def test_a_quality_accident_opens_its_record(case, quality_manager):
    decision = decide(case, quality_manager, outcome="quality_accident")
    assert case.quality_accidents.count() == 1
    assert decision.links.count() == 1


def test_a_product_defect_notifies_supplier_and_manufacturer_and_opens_a_corrective_capa(
    case, quality_manager, setup
):
    from medservice.quality.models import Capa

    decide(case, quality_manager, outcome="product_defect", rationale="血氧模块批次缺陷")
    defect_notices = case.supplier_notices.filter(reason="product_defect").order_by("pk")
    assert [item.recipient for item in defect_notices] == [setup["supplier"], setup["manufacturer"]]
    assert Capa.objects.get(source_label=case.number).kind == "corrective"
    # The batch stays on hold: a recall may follow.
    assert hold_active_for(device_model=setup["model"], batch_number="B2603") is not None


def test_moving_the_awareness_earlier_moves_the_open_reports_due_time(
    case, quality_manager, company
):
    import datetime

    from medservice.quality.services import case_move_awareness

    # Given a serious injury decided reportable in China: the report is due 20 days on
    decide(case, quality_manager, outcome="reportable_ae", harm="serious_injury",
           markets=["CN"], reportable_markets=["CN"])  # fmt: skip
    report = case.adverse_event_reports.get()
    due_before = report.report_due_at
    # When the quality manager learns the company knew two days earlier
    case_move_awareness(
        actor=quality_manager, case=case,
        awareness_at=case.awareness_at - datetime.timedelta(days=2),
        reason="销售人员两天前已接到医院电话",
    )  # fmt: skip
    # Then the report, still a draft, counts from the new time
    report.refresh_from_db()
    assert report.awareness_at == case.awareness_at - datetime.timedelta(days=2)
    assert report.report_due_at == due_before - datetime.timedelta(days=2)


def test_a_case_is_kept_for_the_devices_expiry_plus_two_years_when_that_is_later(
    company, hospital_a, setup
):
    import datetime

    # Given a device expiring in 2033, of a model with a six-year service life, and a
    # complaint about it on 2026-11-27
    setup["model"].service_life_years = 6
    setup["model"].save()
    staff = user_with_role(Role.QUALITY_STAFF, company, username="qa3")
    device = unit(setup, hospital_a, serial_number="KM8-0400")
    device.expiry_date = datetime.date(2033, 6, 30)
    device.save()
    with freeze_time("2026-11-27 10:00:00+08:00"):
        case = case_of(staff, device)
    # Then each rule gives its date and the case is kept until the latest: two years after
    # the expiry (R-DIST), later than five years (R-DIST) and the service life (R-ISO)
    assert sorted(case.retention_dates()) == [
        ("R-DIST", datetime.date(2031, 11, 27)),
        ("R-DIST", datetime.date(2035, 6, 30)),
        ("R-ISO", datetime.date(2032, 11, 27)),
    ]
    assert case.retain_until == datetime.date(2035, 6, 30)
