"""The complaint register (投诉登记表): every complaint with its complainant, product, owner,
solution, completion, the customer's confirmation and satisfaction — on the page and in the XLSX
export, filtered and scoped alike, in a fixed number of queries."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.core.navigation import navigation_for
from medservice.tickets import services
from tests.factories import OrganizationFactory, user_with_role
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory
from tests.tickets.conftest import RECEIVED, register
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

URL = "/tickets/registers/complaints/"
HOUR = datetime.timedelta(hours=1)
HEADERS = (
    "Number",
    "Received at",
    "Channel",
    "Complainant",
    "Organisation",
    "Product",
    "Model",
    "Serial or batch",
    "Description",
    "Owner",
    "Solution",
    "Completed at",
    "Customer confirmation",
    "Satisfaction",
)
# The second complaint arrives eight days later, at 10:00 in Shanghai.
LETTER_RECEIVED = datetime.datetime(2026, 3, 10, 2, 0, tzinfo=datetime.UTC)


@pytest.fixture
def engineer_zhang(company):
    return user_with_role(
        Role.FIELD_ENGINEER, company, username="zhangwei", first_name="伟", last_name="张"
    )


@pytest.fixture
def monitor(hospital_a):
    model = DeviceModelFactory(name="多参数病人监护仪", model_spec="PM-9000")
    return DeviceFactory(
        organization=hospital_a,
        device_model=model,
        serial_number="KM8-2603-00017",
        batch_number="2603",
    )


@pytest.fixture
def confirmed_complaint(agent, engineer_zhang, hospital_a, caller, monitor, clock):
    """A phone complaint about a monitor, owned by 张伟, resolved the next day and confirmed by
    the caller on the phone, who rated it 4."""
    ticket = register(agent, hospital_a, caller, device=monitor)
    ticket = services.ticket_assign(ticket=ticket, actor=agent, owner=engineer_zhang)
    clock.tick(HOUR)
    ticket = services.ticket_acknowledge(ticket=ticket, actor=agent, note="已电话联系护士长")
    ticket = services.ticket_propose_solution(ticket=ticket, actor=agent, solution="上门更换电源板")
    ticket = services.ticket_agree_solution(
        ticket=ticket, actor=agent, agreed_by="钱丽华", method="phone"
    )
    ticket = services.ticket_start(ticket=ticket, actor=agent)
    ticket = services.ticket_screen(
        ticket=ticket,
        actor=agent,
        is_complaint=True,
        may_be_reportable=False,
        needs_investigation=False,
        no_investigation_reason="已知电源板批次问题",
    )
    clock.move_to(RECEIVED + 26 * HOUR)  # 2026-03-03 19:00 in Shanghai
    ticket = services.ticket_resolve(
        ticket=ticket, actor=agent, resolution_type="repair", resolution="更换电源板后开机正常"
    )
    clock.move_to(RECEIVED + 31 * HOUR)
    return services.ticket_confirm(
        ticket=ticket,
        actor=agent,
        confirmed_by_name="钱丽华",
        method="phone",
        confirmed_at=RECEIVED + 30 * HOUR,  # she said so on the phone at 23:00 the day before
        rating=4,
        comment="处理及时",
    )


@pytest.fixture
def letter_complaint(agent, hospital_b, clock):
    """A quality complaint by letter from a reporter typed in (no contact, no known unit)."""
    clock.move_to(LETTER_RECEIVED)
    return register(
        agent,
        hospital_b,
        kind="quality_complaint",
        channel="letter",
        reporter_name="赵建国",
        reporter_phone="13701234567",
        product_reported="一次性使用输液器",
        serial_reported="20251108",
        subject="输液器漏液",
        description="输液器接口处漏液。",
        received_at=LETTER_RECEIVED,
        quality={"device_used": True, "symptoms": "无", "stop_use_advised": True},
    )


@pytest.fixture
def two_complaints(confirmed_complaint, letter_complaint, hospital_a):
    # A repair request is not a complaint: never in the register.
    TicketFactory(organization=hospital_a, received_at=LETTER_RECEIVED)
    return confirmed_complaint, letter_complaint


CONFIRMED_ROW = (
    "TS-2026-000001",
    datetime.datetime(2026, 3, 2, 17, 0),
    "Phone",
    "钱丽华 139****4875",
    "市第一人民医院",
    "多参数病人监护仪",
    "PM-9000",
    "KM8-2603-00017 / 2603",
    "ICU 3 床监护仪开机后黑屏。",
    "张伟",
    "上门更换电源板\nRepair: 更换电源板后开机正常",
    datetime.datetime(2026, 3, 3, 19, 0),
    "钱丽华, By phone, 2026-03-03 23:00",
    4,
)
LETTER_ROW = (
    "ZL-2026-000001",
    datetime.datetime(2026, 3, 10, 10, 0),
    "Letter or fax",
    "赵建国 137****4567",
    "县中医院",
    "一次性使用输液器",
    None,
    "20251108",
    "输液器接口处漏液。",
    None,
    None,
    None,
    None,
    None,
)


def export(client, user, **filters):
    client.force_login(user)
    response = client.get(URL, {**filters, "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    return sheet.title, list(sheet.iter_rows(values_only=True))


def page_numbers(client, user, **filters):
    client.force_login(user)
    response = client.get(URL, filters)
    assert response.status_code == 200
    return [row["number"] for row in response.context["rows"]]


def test_the_export_holds_the_register_columns_of_each_complaint(client, agent, two_complaints):
    # Given a complaint confirmed by phone with a rating, an open quality complaint by letter
    # and a repair request
    # When an agent exports the register
    title, rows = export(client, agent)
    # Then the workbook has the translated headers and one row per complaint, newest first
    assert title == "Complaint register"
    assert rows == [HEADERS, LETTER_ROW, CONFIRMED_ROW]


def test_the_page_shows_the_same_columns(client, agent, two_complaints):
    client.force_login(agent)
    response = client.get(URL)
    body = response.content.decode()
    assert [str(column.label) for column in response.context["columns"]] == list(HEADERS)
    assert response.context["rows"][1]["confirmation"] == "钱丽华, By phone, 2026-03-03 23:00"
    for text in ("钱丽华 139****4875", "KM8-2603-00017 / 2603", "2026-03-03 19:00", "4/5"):
        assert text in body
    # Phones are masked, never shown whole.
    assert "13916624875" not in body and "13701234567" not in body


def test_a_complaint_closed_without_an_answer_says_so(client, agent, confirmed_complaint, clock):
    # Given a complaint reopened and resolved again, then closed automatically after 7 days
    ticket = services.ticket_reopen(ticket=confirmed_complaint, actor=agent, reason="又黑屏")
    ticket = services.ticket_resolve(
        ticket=ticket, actor=agent, resolution_type="remote_fix", resolution="远程重置"
    )
    clock.tick(datetime.timedelta(days=7, minutes=1))
    assert services.resolution_reminders_and_auto_close()["closed"] == 1
    # When the register is exported
    _title, rows = export(client, agent)
    # Then the confirmation column says it closed without an answer, and when
    assert rows[1][10] == "上门更换电源板\nRemote fix: 远程重置"
    assert rows[1][11] == datetime.datetime(2026, 3, 4, 0, 0)  # the second resolution
    assert rows[1][12] == "Closed automatically without an answer, 2026-03-11 00:01"
    assert rows[1][13] == 4  # the rating of the case stays


def test_what_a_complainant_typed_is_exported_as_text_not_as_a_formula(
    client, agent, hospital_a, caller, clock
):
    register(agent, hospital_a, caller, description='=HYPERLINK("http://example.com","点此")')
    client.force_login(agent)
    response = client.get(URL, {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cell = sheet.cell(row=2, column=HEADERS.index("Description") + 1)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://example.com","点此")', "s")


def test_filters_received_between_in_the_local_day(client, agent, two_complaints):
    # The letter arrived on 10 March in Shanghai; the call on 2 March at 17:00 (09:00 UTC).
    assert page_numbers(client, agent, received_at_after="2026-03-03") == ["ZL-2026-000001"]
    assert page_numbers(client, agent, received_at_before="2026-03-02") == ["TS-2026-000001"]
    assert page_numbers(
        client, agent, received_at_after="2026-03-02", received_at_before="2026-03-10"
    ) == ["ZL-2026-000001", "TS-2026-000001"]
    assert page_numbers(client, agent, received_at_after="2026-03-11") == []


def test_filters_by_organisation_and_status(client, agent, hospital_b, two_complaints):
    assert page_numbers(client, agent, organization=hospital_b.pk) == ["ZL-2026-000001"]
    assert page_numbers(client, agent, status="closed") == ["TS-2026-000001"]
    assert page_numbers(client, agent, status="new", organization=hospital_b.pk) == [
        "ZL-2026-000001"
    ]
    assert page_numbers(client, agent, status="in_progress") == []


def test_the_export_honours_the_filters(client, agent, two_complaints):
    _title, rows = export(client, agent, status="closed")
    assert rows == [HEADERS, CONFIRMED_ROW]


def test_a_customer_sees_and_exports_only_its_own_complaints(
    client, customer_a, hospital_b, two_complaints
):
    assert page_numbers(client, customer_a) == ["TS-2026-000001"]
    _title, rows = export(client, customer_a)
    assert rows == [HEADERS, CONFIRMED_ROW]


def test_a_filter_outside_the_scope_matches_nothing(client, customer_a, hospital_b, two_complaints):
    # Another customer's organisation is not a valid choice: nothing, not "everything I see".
    client.force_login(customer_a)
    response = client.get(URL, {"organization": hospital_b.pk})
    assert response.context["rows"] == []
    assert response.context["filterset"].errors["organization"]
    _title, rows = export(client, customer_a, organization=hospital_b.pk)
    assert rows == [HEADERS]


def test_a_role_without_tickets_sees_no_register(client, company):
    keeper = user_with_role(Role.WAREHOUSE_KEEPER, company, username="keeper")
    client.force_login(keeper)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"export": "xlsx"}).status_code == 403
    assert URL not in [item["url"] for item in navigation_for(keeper, "/")]


def test_the_register_is_in_the_navigation(agent):
    entries = {item["url"]: str(item["label"]) for item in navigation_for(agent, URL)}
    assert entries[URL] == "Complaint register"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def queries_of(client, params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_page_and_export_run_a_fixed_number_of_queries(
    client, agent, engineer_zhang, hospital_a, caller, monitor, clock
):
    # Given one complaint
    register(agent, hospital_a, caller, device=monitor, owner=engineer_zhang)
    client.force_login(agent)
    client.get(URL)  # warm up: content types, templates
    one_page, one_export = queries_of(client, {}), queries_of(client, {"export": "xlsx"})
    # When twelve more arrive, with contacts, units, owners and organisations of their own
    for n in range(12):
        organization = hospital_a if n % 2 else OrganizationFactory()
        TicketFactory(
            organization=organization,
            kind="complaint",
            channel="email",
            device=DeviceFactory(organization=organization) if n % 3 == 0 else None,
            owner=user_with_role(Role.FIELD_ENGINEER, username=f"engineer{n}"),
        )
    # Then the page and the export run as many queries as before
    assert queries_of(client, {}) == one_page
    assert queries_of(client, {"export": "xlsx"}) == one_export
    _title, rows = export(client, agent)
    assert len(rows) == 1 + 13
