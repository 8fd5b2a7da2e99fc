"""Every list and page of work orders is served in a fixed number of queries whatever its
length (DESIGN.md): the list page and the API list, the record page with its visits, parts,
time, tests, quotes, reports and fees, the engineer's day, the dispatch board, and the
dispatch candidates. Each is measured with a few records, then with many more: the count must
not grow. Every row is made different (its own customer, device, engineer, part, instrument) so
that a query per row cannot hide behind a cache."""

from __future__ import annotations

import datetime
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from medservice.core.choices import SignerKind
from medservice.core.models import Signature
from medservice.work_orders.choices import (
    ChargeCategory,
    QuoteStatus,
    RemoteOutcome,
    Route,
    TimeKind,
    VisitStatus,
    WorkOrderStatus,
)
from medservice.work_orders.dispatch import dispatch_candidates
from medservice.work_orders.models import (
    FeeItem,
    PartUsage,
    Quote,
    QuoteLine,
    RemoteSession,
    ServiceReport,
    TestResult,
    TimeEntry,
    Visit,
    WorkOrder,
)
from medservice.work_orders.reports import report_signatures
from medservice.work_orders.selectors import report_signatures_for
from tests.catalog.factories import AcceptanceTestItemFactory
from tests.factories import DepartmentFactory, OrganizationFactory
from tests.installed_base.factories import DeviceFactory
from tests.inventory.factories import InstrumentFactory, PartFactory
from tests.work_orders.conftest import make_engineer
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = "2026-11-27 10:00:00+08:00"
TODAY = datetime.date(2026, 11, 27)
START = datetime.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
END = datetime.datetime(2026, 11, 28, 11, 0, tzinfo=SHANGHAI)

serial = count(1)


def queries(call) -> int:
    """How many queries `call` makes (after one call to warm what is cached per process)."""
    call()
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def page(client, url: str):
    def get():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    return get


def engineer_named(company, monitor_model, prefix: str = "e"):
    number = next(serial)
    return make_engineer(company, f"{prefix}{number}", badge=f"B-{number:04d}",
                         model=monitor_model)  # fmt: skip


def work_orders_of_their_own(company, monitor_model, how_many: int, **fields):
    """Work orders each on its own customer, department, device and engineer."""
    made = []
    own_engineer = "engineer" not in fields
    for _ in range(how_many):
        number = next(serial)
        organization = OrganizationFactory(name=f"第{number}医院", region="华东")
        device = DeviceFactory(device_model=monitor_model, organization=organization,
                               serial_number=f"KM8-Q-{number:05d}")  # fmt: skip
        made.append(
            WorkOrderFactory(
                number=f"WO-Q-{number:06d}",
                device=device,
                organization=organization,
                department=DepartmentFactory(organization=organization),
                route=Route.ON_SITE,
                **({"engineer": engineer_named(company, monitor_model)} if own_engineer else {}),
                **fields,
            )
        )
    return made


# --- The lists ------------------------------------------------------------------------------------


def test_the_work_order_list_page_takes_the_same_queries_for_2_and_20(
    client, manager, company, monitor_model
):
    client.force_login(manager)
    url = reverse("work_orders:work-orders-list")
    work_orders_of_their_own(company, monitor_model, 2)
    few = queries(page(client, url))
    work_orders_of_their_own(company, monitor_model, 18)
    many = queries(page(client, url))
    assert WorkOrder.objects.count() == 20
    assert many == few


def test_the_work_order_api_list_takes_the_same_queries_for_2_and_20(
    api, manager, company, monitor_model
):
    client = api.as_user(manager)

    def listing():
        response = client.get("/api/v1/work-orders/")
        assert response.status_code == 200
        return response

    def with_visits(work_orders):
        for work_order in work_orders:
            for hour in (9, 14):
                Visit.objects.create(
                    work_order=work_order, engineer=work_order.engineer,
                    window_start=START.replace(hour=hour),
                    window_end=START.replace(hour=hour + 1),
                )  # fmt: skip

    with_visits(work_orders_of_their_own(company, monitor_model, 2))
    few = queries(listing)
    with_visits(work_orders_of_their_own(company, monitor_model, 18))
    many = queries(listing)
    assert len(listing().json()["results"]) == 20
    assert many == few


# --- The record page ------------------------------------------------------------------------------


def furnish(work_order, *, how_many: int, company, monitor_model, recorder) -> None:
    """Add `how_many` of everything the record page shows: visits by different engineers,
    parts used (each its own part), time entries, acceptance-test results (each its own check
    and instrument), remote sessions, quotes with lines, fees and report revisions with their
    signatures."""
    report_type = ContentType.objects.get_for_model(ServiceReport)
    previous = ServiceReport.objects.filter(work_order=work_order).order_by("-revision").first()
    positions = count(work_order.device.device_model.acceptance_items.count() + 1)
    for _ in range(how_many):
        number = next(serial)
        engineer = engineer_named(company, monitor_model, prefix="v")
        Visit.objects.create(
            work_order=work_order, engineer=engineer, status=VisitStatus.DONE,
            window_start=START, window_end=END, dispatched_by=recorder, override_by=recorder,
            override_reason="只有他有空", checked_in_at=START, checked_out_at=END,
        )  # fmt: skip
        part = PartFactory(number=f"PQ-{number:05d}")
        PartUsage.objects.create(work_order=work_order, part=part, quantity=Decimal(1),
                                 lot_text=f"L{number}", recorded_by=recorder)  # fmt: skip
        TimeEntry.objects.create(work_order=work_order, engineer=engineer, kind=TimeKind.LABOUR,
                                 day=TODAY, hours=Decimal(1))  # fmt: skip
        item = AcceptanceTestItemFactory(device_model=monitor_model, position=next(positions),
                                         name=f"检查{number}")  # fmt: skip
        TestResult.objects.create(
            work_order=work_order, item=item, measured_value=Decimal(60), passed=True,
            instrument=InstrumentFactory(number=f"SIM-Q-{number}"), recorded_by=recorder,
            instrument_calibrated_on=TODAY, instrument_calibration_due=TODAY,
        )  # fmt: skip
        RemoteSession.objects.create(
            work_order=work_order, engineer=engineer, tool="向日葵", started_at=START,
            duration_minutes=10, outcome=RemoteOutcome.SOLVED,
        )  # fmt: skip
        quote = Quote.objects.create(
            work_order=work_order, number=f"QT-Q-{number:05d}", status=QuoteStatus.DECLINED,
            total=Decimal(100), decision_recorded_by=recorder,
        )  # fmt: skip
        for _line in range(2):
            QuoteLine.objects.create(
                quote=quote, category=ChargeCategory.PARTS, description=part.name_zh, part=part,
                quantity=Decimal(1), unit_price=Decimal(50), amount=Decimal(50),
            )  # fmt: skip
        FeeItem.objects.create(work_order=work_order, category=ChargeCategory.LABOUR,
                               description=f"工时{number}", amount=Decimal(10))  # fmt: skip
        revision = (previous.revision + 1) if previous is not None else 1
        report = ServiceReport.objects.create(
            work_order=work_order, number=work_order.number, revision=revision,
            supersedes=previous, engineer_name="王工", engineer_signed_at=START,
            customer_name="李护士长", customer_signed_at=END, signed_at=END,
        )  # fmt: skip
        for kind in (SignerKind.INTERNAL, SignerKind.CUSTOMER):
            Signature.objects.create(
                content_type=report_type, object_id=str(report.pk), signer_kind=kind,
                signer=recorder if kind == SignerKind.INTERNAL else None,
                printed_name="王工", meaning="确认", signed_at=END, content_hash="0" * 64,
                revision=revision,
            )  # fmt: skip
        previous = report


@pytest.mark.parametrize("status", [WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.COMPLETED])
@pytest.mark.parametrize(
    ("url_name", "shows"),
    [("work_orders:work-orders-detail", 'class="visit"'), ("work_orders:visit", "data-check=")],
)
@freeze_time(NOW)
def test_the_record_and_phone_pages_take_the_same_queries_for_2_and_10_of_everything(
    client, service_manager, engineer, company, monitor_model, status, url_name, shows
):
    (work_order,) = work_orders_of_their_own(company, monitor_model, 1, status=status)
    WorkOrder.objects.filter(pk=work_order.pk).update(
        test_override_by=service_manager, screened_at=timezone.now()
    )
    client.force_login(service_manager)
    url = reverse(url_name, args=[work_order.pk])
    furnish(work_order, how_many=2, company=company, monitor_model=monitor_model,
            recorder=service_manager)  # fmt: skip
    few = queries(page(client, url))
    furnish(work_order, how_many=8, company=company, monitor_model=monitor_model,
            recorder=service_manager)  # fmt: skip
    many = queries(page(client, url))
    assert client.get(url).content.decode().count(shows) >= 10
    assert many == few


@freeze_time(NOW)
def test_the_revisions_signatures_read_at_once_are_those_read_one_by_one(
    service_manager, company, monitor_model
):
    (work_order,) = work_orders_of_their_own(company, monitor_model, 1, status="completed")
    furnish(work_order, how_many=3, company=company, monitor_model=monitor_model,
            recorder=service_manager)  # fmt: skip
    reports = list(ServiceReport.objects.filter(work_order=work_order).order_by("-revision"))

    at_once = report_signatures_for(reports)

    assert at_once == {report.pk: report_signatures(report) for report in reports}
    first = reports[-1]
    assert at_once[reports[0].pk]["engineer"].object_id == str(first.pk)
    assert at_once[first.pk]["corrected"] is None


# --- The engineer's day, the dispatch board, the candidates --------------------------------------


def visits_today(engineer, company, monitor_model, how_many: int) -> None:
    """`how_many` visits of `engineer` on 2026-11-28, each for another customer and device."""
    for index, work_order in enumerate(
        work_orders_of_their_own(
            company, monitor_model, how_many, status="scheduled", engineer=engineer
        )
    ):
        start = START.replace(hour=8) + datetime.timedelta(minutes=20 * index)
        Visit.objects.create(work_order=work_order, engineer=engineer, window_start=start,
                             window_end=start + datetime.timedelta(minutes=15))  # fmt: skip


@freeze_time("2026-11-28 07:00:00+08:00")
@pytest.mark.parametrize("week", [False, True])
def test_my_day_takes_the_same_queries_for_2_and_10_visits(
    client, engineer, company, monitor_model, week
):
    client.force_login(engineer)
    url = reverse("work_orders:my-day") + ("?days=7" if week else "")
    visits_today(engineer, company, monitor_model, 2)
    few = queries(page(client, url))
    visits_today(engineer, company, monitor_model, 8)
    many = queries(page(client, url))
    assert client.get(url).content.decode().count("my-day-visit") == 10
    assert many == few


@freeze_time(NOW)
def test_the_dispatch_board_takes_the_same_queries_for_2_and_10_engineers_and_visits(
    client, manager, company, monitor_model
):
    client.force_login(manager)
    url = reverse("work_orders:dispatch-board")

    def board(how_many: int) -> None:
        for _ in range(how_many):
            visits_today(engineer_named(company, monitor_model), company, monitor_model, 1)
        # Ready work waiting for an engineer, each at another customer.
        work_orders_of_their_own(company, monitor_model, how_many, status="ready", engineer=None)

    board(2)
    few = queries(page(client, url))
    board(8)
    many = queries(page(client, url))
    content = client.get(url).content.decode()
    assert content.count("board-visit") == 10
    assert content.count("ready-work-order") == 10
    assert many == few


@freeze_time(NOW)
def test_the_dispatch_candidates_take_the_same_queries_for_2_and_10_engineers(
    company, monitor_model, hospital_a
):
    (work_order,) = work_orders_of_their_own(company, monitor_model, 1, status="ready")
    work_order = WorkOrder.objects.get(pk=work_order.pk)  # nothing loaded beforehand
    for _ in range(1):
        engineer_named(company, monitor_model)  # with the work order's own: 2
    with CaptureQueriesContext(connection) as few:
        assert len(dispatch_candidates(work_order, start=START, end=END)) == 2
    for _ in range(8):
        visits_today(engineer_named(company, monitor_model), company, monitor_model, 1)
    work_order = WorkOrder.objects.get(pk=work_order.pk)
    with CaptureQueriesContext(connection) as many:
        candidates = dispatch_candidates(work_order, start=START, end=END)
        # Reading what the dispatch form shows of each costs nothing more.
        labels = [(item.name, item.profile.badge_number, item.load) for item in candidates]
    assert len(labels) == 10
    assert len(many.captured_queries) == len(few.captured_queries)
