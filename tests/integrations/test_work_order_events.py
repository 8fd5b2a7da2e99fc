"""A completed work order reaches the subscribers of its organisation (and the company's)."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.integrations.factories import subscribe
from tests.work_orders import conftest as work_orders_fixtures
from tests.work_orders.test_onsite_support import in_progress
from tests.work_orders.test_onsite_workshop import finish

pytestmark = pytest.mark.django_db

# The work-orders tests' fixtures: a monitor model with its acceptance test, a device of
# hospital A, an engineer certified for it and a calibrated simulator.
product_line = work_orders_fixtures.product_line
monitor_model = work_orders_fixtures.monitor_model
device = work_orders_fixtures.device
engineer = work_orders_fixtures.engineer
simulator = work_orders_fixtures.simulator

NOW = "2026-11-27 10:00:00+08:00"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_completing_a_work_order_sends_work_order_completed(
    receiver,
    integrator,
    engineer,
    device,
    simulator,
    hospital_b,
    django_capture_on_commit_callbacks,
):
    # Given the company's integration, hospital A's (the device's owner) and hospital B's
    subscribe(integrator, receiver.url, events=["work_order.completed"], name="company")
    own = subscribe(integrator, receiver.url, events=["work_order.completed"],
                    organization=device.organization, name="A")  # fmt: skip
    other = subscribe(integrator, receiver.url, events=["work_order.completed"],
                      organization=hospital_b, name="B")  # fmt: skip
    # When the engineer completes the repair
    with freeze_time(NOW), django_capture_on_commit_callbacks(execute=True):
        work_order = finish(engineer, in_progress(engineer, device), simulator)
    # Then the company and hospital A receive the same event, hospital B nothing
    assert len(receiver.received) == 2
    assert other.deliveries.count() == 0
    assert own.deliveries.get().event_type == "work_order.completed"
    body = receiver.received[0].json
    assert (body["type"], body["occurred_at"]) == (
        "work_order.completed",
        "2026-11-27T02:00:00+00:00",
    )
    assert body["data"] == {
        "work_order": {
            "id": work_order.pk,
            "number": "WO-2026-000001",
            "kind": "repair",
            "status": "completed",
            "ticket": None,
            "device": device.pk,
            "organization": device.organization_id,
            "engineer": None,  # a workshop repair: no engineer dispatched
            "result": "returned_to_service",
            "completed_at": "2026-11-27T02:00:00+00:00",
            "back_in_service_at": "2026-11-27T02:00:00+00:00",
        }
    }
