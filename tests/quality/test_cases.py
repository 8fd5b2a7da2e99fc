"""Quality cases: opened once from a quality-flagged request (with its intake) or service
record, the awareness rule, the SOP-3 contact clock, and who may see them."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, PermissionDeniedError
from medservice.core.models import Notification
from medservice.quality.models import QualityCase
from medservice.quality.services import (
    case_create,
    case_move_awareness,
    case_open_from_ticket,
    case_record_contact,
    contact_clock_sweep,
)
from medservice.tickets.services import ticket_register
from tests.factories import ContactFactory, user_with_role
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
RECEIVED = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def complaint(agent, hospital_a, quality_staff, django_capture_on_commit_callbacks):
    contact = ContactFactory(organization=hospital_a, name="王护士", language="en")
    with freeze_time(RECEIVED), django_capture_on_commit_callbacks(execute=True):
        return ticket_register(
            actor=agent,
            data={
                "kind": "quality_complaint", "channel": "phone", "organization": hospital_a,
                "contact": contact, "subject": "输液器漏液", "description": "输液器接口漏液",
                "patient_involved": True,
            },
            quality={
                "complainant_sex": "female", "complainant_age": 46, "device_used": True,
                "symptoms": "穿刺部位红肿", "batch_or_serial": "20250612",
                "stop_use_advised": True,
            },
        )  # fmt: skip


def test_a_quality_flagged_request_opens_one_case_with_its_intake(complaint, quality_staff):
    case = QualityCase.objects.get(ticket=complaint)
    assert (case.source, case.status, case.awareness_at, case.contact_due_at) == (
        "ticket", "open", RECEIVED, RECEIVED + datetime.timedelta(hours=24),
    )  # fmt: skip
    assert (case.complainant_sex, case.complainant_age, case.batch_number, case.symptoms) == (
        "female", 46, "20250612", "穿刺部位红肿",
    )  # fmt: skip
    assert case.stop_use_advised is True
    assert case.complainant_name == "王护士"
    # Flagged again (e.g. screened once more): still one case.
    assert case_open_from_ticket(ticket=complaint) == case
    assert QualityCase.objects.filter(ticket=complaint).count() == 1
    # The desk's alert is the one quality staff get: the case does not repeat it.
    subjects = Notification.objects.filter(recipient=quality_staff).values_list(
        "subject", flat=True
    )
    assert list(subjects) == [f"Quality complaint {complaint.number}: review now"]


def test_a_service_record_screened_as_a_complaint_opens_a_case(
    engineer_for_screening, quality_staff
):
    from medservice.work_orders.events import work_order_quality_flagged
    from medservice.work_orders.models import WorkOrder

    work_order = WorkOrderFactory(
        contact_name="李主任", contact_phone="13900001111", symptom="报警后黑屏",
        screening_note="疑似产品缺陷",
        screened_at=datetime.datetime(2026, 11, 26, 15, 0, tzinfo=SHANGHAI),
    )  # fmt: skip
    work_order_quality_flagged.send(sender=WorkOrder, work_order=work_order)
    work_order_quality_flagged.send(sender=WorkOrder, work_order=work_order)
    case = QualityCase.objects.get(work_order=work_order)
    assert (case.source, case.awareness_at, case.device_id, case.batch_number) == (
        "work_order", work_order.screened_at, work_order.device_id,
        work_order.device.batch_number,
    )  # fmt: skip
    assert case.description == "无法开机\n报警后黑屏\n疑似产品缺陷"
    assert QualityCase.objects.count() == 1
    assert list(
        Notification.objects.filter(recipient=quality_staff).values_list("subject", flat=True)
    ) == [f"Quality case {case.number} opened"]


@pytest.fixture
def engineer_for_screening(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="eng")


def test_the_awareness_time_moves_only_earlier_and_with_a_reason(complaint, company):
    manager = user_with_role(Role.QUALITY_MANAGER, company, username="qm")
    case = QualityCase.objects.get(ticket=complaint)
    later = RECEIVED + datetime.timedelta(hours=2)
    with pytest.raises(InvalidInputError) as refused:
        case_move_awareness(actor=manager, case=case, awareness_at=later, reason="录入延迟")
    assert list(refused.value.fields) == ["awareness_at"]
    with pytest.raises(InvalidInputError) as refused:
        case_move_awareness(actor=manager, case=case, awareness_at=RECEIVED, reason=" ")
    assert sorted(refused.value.fields) == ["reason"]
    earlier = RECEIVED - datetime.timedelta(hours=20)
    case = case_move_awareness(actor=manager, case=case, awareness_at=earlier,
                               reason="销售前一天已电话获知")  # fmt: skip
    assert (case.awareness_at, case.contact_due_at, case.awareness_reason) == (
        earlier, earlier + datetime.timedelta(hours=24), "销售前一天已电话获知",
    )  # fmt: skip


def test_quality_staff_may_not_move_the_awareness_time(complaint, quality_staff):
    case = QualityCase.objects.get(ticket=complaint)
    with pytest.raises(PermissionDeniedError):
        case_move_awareness(actor=quality_staff, case=case,
                            awareness_at=RECEIVED - datetime.timedelta(hours=1), reason="x")  # fmt: skip


def test_the_contact_clock_warns_at_75_percent_then_breaches_once_each(complaint, quality_staff):
    case = QualityCase.objects.get(ticket=complaint)
    assert contact_clock_sweep(now=RECEIVED + datetime.timedelta(hours=17)) == {
        "warned": 0, "breached": 0,
    }  # fmt: skip
    assert contact_clock_sweep(now=RECEIVED + datetime.timedelta(hours=18)) == {
        "warned": 1, "breached": 0,
    }  # fmt: skip
    assert contact_clock_sweep(now=RECEIVED + datetime.timedelta(hours=19)) == {
        "warned": 0, "breached": 0,
    }  # fmt: skip
    assert contact_clock_sweep(now=RECEIVED + datetime.timedelta(hours=24)) == {
        "warned": 0, "breached": 1,
    }  # fmt: skip
    assert contact_clock_sweep(now=RECEIVED + datetime.timedelta(hours=25)) == {
        "warned": 0, "breached": 0,
    }  # fmt: skip
    subjects = list(
        Notification.objects.filter(recipient=quality_staff)
        .order_by("pk")
        .values_list("subject", flat=True)
    )
    assert subjects[-2:] == [
        f"{case.number}: contact the complainant soon",
        f"{case.number}: complainant not contacted in time",
    ]


def test_recording_the_contact_stops_the_clock_and_starts_the_investigation(
    complaint, quality_staff
):
    case = QualityCase.objects.get(ticket=complaint)
    with pytest.raises(InvalidInputError):
        case_record_contact(actor=quality_staff, case=case, note="")
    contacted = RECEIVED + datetime.timedelta(hours=3)
    with freeze_time(contacted):
        case = case_record_contact(actor=quality_staff, case=case, note="已回电，建议停用该批次")
    assert (case.status, case.contacted_at, case.owner) == (
        "investigating", contacted, quality_staff,
    )  # fmt: skip
    assert contact_clock_sweep(now=RECEIVED + datetime.timedelta(hours=30)) == {
        "warned": 0, "breached": 0,
    }  # fmt: skip


def test_quality_staff_record_a_case_directly_and_never_in_the_future(quality_staff):
    with freeze_time(RECEIVED):
        with pytest.raises(InvalidInputError) as refused:
            case_create(actor=quality_staff, data={
                "description": "来信投诉", "awareness_at": RECEIVED + datetime.timedelta(days=1),
            })  # fmt: skip
        assert list(refused.value.fields) == ["awareness_at"]
        case = case_create(actor=quality_staff, data={"description": "来信投诉",
                                                      "complainant_phone": "13812345678"})  # fmt: skip
    assert (case.source, case.awareness_at, case.owner) == ("manual", RECEIVED, quality_staff)
    assert case.complainant_phone_masked == "138****5678"


def test_customers_and_distributors_see_no_quality_case_internal_staff_do(
    api, complaint, customer_a, distributor_engineer, company
):
    case = QualityCase.objects.get(ticket=complaint)
    for outsider in (customer_a, distributor_engineer):
        response = api.as_user(outsider).get(f"/api/v1/quality-cases/{case.pk}/")
        assert response.status_code in (403, 404)
    manager = user_with_role(Role.SERVICE_MANAGER, company, username="sm")
    listed = api.as_user(manager).get("/api/v1/quality-cases/").json()
    assert [row["number"] for row in listed["results"]] == [case.number]
    # A service manager may read the case but not the complainant's personal data.
    assert listed["results"][0]["complainant_age"] == 46


def test_the_api_records_the_contact_and_names_bad_fields(api, complaint, quality_staff):
    case = QualityCase.objects.get(ticket=complaint)
    client = api.as_user(quality_staff)
    refused = client.post(f"/api/v1/quality-cases/{case.pk}/contact/", {}, format="json")
    assert (refused.status_code, list(refused.json()["error"]["fields"])) == (400, ["note"])
    done = client.post(f"/api/v1/quality-cases/{case.pk}/contact/", {"note": "已回电"},
                       format="json")  # fmt: skip
    assert (done.status_code, done.json()["status"]) == (200, "investigating")


def test_the_case_page_shows_the_clock_and_records_the_contact(client, complaint, quality_staff):
    case = QualityCase.objects.get(ticket=complaint)
    client.force_login(quality_staff)
    page = client.get(f"/quality/quality-cases/{case.pk}/")
    assert page.status_code == 200
    assert 'data-action="contact"' in page.content.decode()
    refused = client.post(f"/quality/quality-cases/{case.pk}/contact/", {"note": ""})
    assert refused.status_code == 400
    done = client.post(f"/quality/quality-cases/{case.pk}/contact/", {"note": "已回电"})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.status == "investigating"


def test_an_open_case_holds_its_batch_so_it_is_neither_delivered_nor_issued(
    agent, hospital_a, quality_staff, django_capture_on_commit_callbacks, company
):
    from medservice.core.errors import DomainError
    from medservice.installed_base.models import Hold
    from medservice.installed_base.services import delivery_create
    from medservice.inventory.choices import LocationKind
    from medservice.inventory.models import StockLocation
    from medservice.inventory.services import (
        Move,
        lot_for_receipt,
        movements_post,
        stock_transfer,
    )
    from tests.installed_base.factories import DeviceFactory
    from tests.inventory.factories import LocationFactory, PartFactory

    device = DeviceFactory(organization=hospital_a, batch_number="2603")
    with freeze_time(RECEIVED), django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_register(
            actor=agent,
            data={
                "kind": "quality_complaint", "channel": "phone", "organization": hospital_a,
                "contact": ContactFactory(organization=hospital_a), "device": device,
                "subject": "监护仪冒烟", "description": "开机后冒烟", "patient_involved": False,
            },
            quality={"device_used": True, "stop_use_advised": True},
        )  # fmt: skip
    case = QualityCase.objects.get(ticket=ticket)
    hold = Hold.objects.get(source=case.number)
    assert (hold.scope, hold.kind, hold.device_model_id, hold.batch_number) == (
        "batch", "quality_review", device.device_model_id, "2603",
    )  # fmt: skip
    # No delivery of that batch...
    warehouse = user_with_role(Role.WAREHOUSE_KEEPER, company, username="wh")
    with pytest.raises(DomainError) as refused:
        delivery_create(
            actor=warehouse, organization=hospital_a, delivered_on=datetime.date(2026, 11, 27),
            lines=[{"device_model": device.device_model, "batch_number": "2603", "quantity": 1,
                    "serial_number": "KM8-NEW-1"}],
        )  # fmt: skip
    assert refused.value.fields["lines.1.batch_number"] == [
        f"Line 1: batch 2603 is on hold (Quality case {case.number}: under review until it "
        "is decided.) and may not be delivered."
    ]
    # ...and no issue to an engineer of a part lot of the same registered model and batch.
    probe = PartFactory(number="PROBE-1", tracking="lot", device_model=device.device_model)
    central = LocationFactory(code="C1", kind=LocationKind.CENTRAL)
    van = LocationFactory(
        code="V1", kind=LocationKind.ENGINEER,
        engineer=user_with_role(Role.FIELD_ENGINEER, company, username="van"),
    )  # fmt: skip
    lot = lot_for_receipt(part=probe, lot_number="2603", serial_number="", expiry_date=None)
    movements_post(actor=None, kind="receipt", destination=central,
                   moves=[Move(part=probe, quantity=1, lot=lot)], reference="test")  # fmt: skip
    with pytest.raises(DomainError) as refused:
        stock_transfer(actor=None, source=central, destination=van,
                       moves=[Move(part=probe, quantity=1, lot=lot)])  # fmt: skip
    assert refused.value.message == (
        f"PROBE-1 lot 2603 belongs to a device batch on hold: Quality case {case.number}: "
        "under review until it is decided."
    )
    assert StockLocation.objects.count() == 2
