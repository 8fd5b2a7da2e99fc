"""Quality events: an adverse-event report's legal clock reaching a stage, and a recall's
progress. Both are the company's internal records: only its own subscriptions receive them."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.integrations.models import WebhookDelivery
from medservice.quality.adverse_events import report_clock_sweep
from medservice.quality.recalls import recall_create, recall_decide, recall_device_dispose
from tests.factories import PASSWORD
from tests.installed_base.factories import DeviceFactory
from tests.integrations.factories import subscribe
from tests.quality.factories_adverse_events import report_at, shanghai
from tests.quality.factories_recalls import batch_2303, quality_manager_user, quality_staff_user

pytestmark = pytest.mark.django_db

AWARE = shanghai(2026, 9, 28, 10, 0)


@pytest.fixture(autouse=True)
def _registrant(settings):
    settings.QUALITY_REGULATORY_ROLE = "registrant"


@pytest.fixture
def quality_staff(company):
    return quality_staff_user(company)


@pytest.fixture
def quality_manager(company):
    return quality_manager_user(company)


@pytest.fixture
def subscriptions(receiver, integrator, hospital_a):
    """The company's integration and hospital A's, both asking for every event."""
    return {
        "company": subscribe(integrator, receiver.url, name="company"),
        "A": subscribe(integrator, receiver.url, organization=hospital_a, name="A"),
    }


def test_an_adverse_event_reports_clock_sends_each_stage_once_to_the_company_only(
    receiver, subscriptions, quality_staff, hospital_a, django_capture_on_commit_callbacks
):
    # Given a death report (CN, 7 days: due 2026-10-05 10:00, 75% at 10-03 16:00)
    device = DeviceFactory(organization=hospital_a, batch_number="2609", serial_number="IP-0042")
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    # When the clock job runs at the warning point, twice, and at the due time
    with django_capture_on_commit_callbacks(execute=True):
        report_clock_sweep(now=shanghai(2026, 10, 3, 16, 0))
        report_clock_sweep(now=shanghai(2026, 10, 3, 16, 5))
        report_clock_sweep(now=shanghai(2026, 10, 5, 10, 0))
    # Then the company received the warning and the breach; hospital A nothing
    assert subscriptions["A"].deliveries.count() == 0
    bodies = [request.json for request in receiver.received]
    assert [(body["type"], body["data"]["stage"], body["occurred_at"]) for body in bodies] == [
        ("adverse_event_report.due", "warning", "2026-10-03T08:00:00+00:00"),
        ("adverse_event_report.due", "breached", "2026-10-05T02:00:00+00:00"),
    ]
    assert bodies[0]["data"] == {
        "adverse_event_report": {
            "id": report.pk,
            "number": report.number,
            "kind": "initial",
            "status": "draft",
            "market": "CN",
            "outcome": "death",
            "group_event": False,
            "quality_case": None,
            "device": device.pk,
            "device_model": device.device_model_id,
            "awareness_at": "2026-09-28T02:00:00+00:00",
            "report_due_at": "2026-10-05T02:00:00+00:00",
            "final_due_at": None,
        },
        "clock": "report",
        "rule": report.rule.code,
        "stage": "warning",
        "due_at": "2026-10-05T02:00:00+00:00",
    }


def test_a_recall_sends_its_progress_to_the_company_only(
    receiver,
    subscriptions,
    quality_staff,
    quality_manager,
    hospital_a,
    hospital_b,
    django_capture_on_commit_callbacks,
):
    batch = batch_2303(hospital_a, hospital_b)
    draft = recall_create(actor=quality_staff, data={
        "kind": "recall", "recall_class": "II", "device_model": batch.monitor,
        "batch_number": "2303", "reason": "电源模块过热，可能导致停机",
        "instructions": "立即停止使用并隔离该批次设备，转告下游并回执。",
        "handling": "repair", "responsible_phone": "400-800-1234",
    })  # fmt: skip
    # When the quality manager decides it, then one device is recorded as not found
    decided_at = datetime.datetime(2026, 2, 12, 2, 0, tzinfo=datetime.UTC)
    with freeze_time(decided_at), django_capture_on_commit_callbacks(execute=True):
        recall = recall_decide(actor=quality_manager, recall=draft, password=PASSWORD)
    entry = recall.devices.get(device__serial_number="KM-0003")
    with (
        freeze_time(decided_at + datetime.timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        recall_device_dispose(actor=quality_staff, entry=entry, disposition="not_found")
    # Then the company received two progress events; hospital A, a recipient, none
    assert subscriptions["A"].deliveries.count() == 0
    assert WebhookDelivery.objects.filter(subscription=subscriptions["company"]).count() == 2
    decided, disposed = (request.json for request in receiver.received)
    recall_fields = {
        "id": recall.pk,
        "number": recall.number,
        "kind": "recall",
        "status": "in_progress",
        "recall_class": "II",
        "device_model": batch.monitor.pk,
        "batch_number": "2303",
        "serial_from": "",
        "serial_to": "",
        "decided_at": "2026-02-12T02:00:00+00:00",
        "notify_due_at": "2026-02-15T02:00:00+00:00",
        "filing_due_at": "2026-02-26T02:00:00+00:00",
        "filed_at": None,
        "ended_at": None,
        "summary_due_at": None,
        "closed_at": None,
    }
    assert decided["data"] == {
        "recall": recall_fields,
        "change": "decide",
        "progress": {
            "devices_total": 4,
            "devices_done": 0,
            "recipients_total": 2,
            "recipients_notified": 0,
            "recipients_acknowledged": 0,
            "by_disposition": {},
            "percent": "0.0",
        },
    }
    assert (disposed["data"]["change"], disposed["data"]["progress"]) == (
        "disposed",
        {
            "devices_total": 4,
            "devices_done": 1,
            "recipients_total": 2,
            "recipients_notified": 0,
            "recipients_acknowledged": 0,
            "by_disposition": {"not_found": 1},
            "percent": "25.0",
        },
    )
