"""Helpers of the on-site tests (no tests here): a work order brought to "in progress" without
dispatch, through the workshop or the remote route, and a one-pixel PNG for condition photos."""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from medservice.inventory.choices import InstrumentKind
from medservice.inventory.models import InstrumentCalibration
from medservice.work_orders.choices import Route, WorkOrderKind
from medservice.work_orders.onsite import unit_receive, work_start
from medservice.work_orders.services import (
    work_order_assess,
    work_order_create,
    work_order_plan,
)
from tests.inventory.factories import InstrumentFactory

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def photo(name: str = "外观.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def ready(engineer, device, *, route: str = Route.WORKSHOP, kind: str = WorkOrderKind.REPAIR):
    """Opened, assessed for `route` (covered: the unit is in warranty) and planned."""
    work_order = work_order_create(actor=engineer, kind=kind, device=device, problem="无法开机")
    work_order = work_order_assess(
        actor=engineer, work_order=work_order, route=route, assessment="电源板故障"
    )
    return work_order_plan(actor=engineer, work_order=work_order, plan="更换电源板")


def in_workshop(engineer, device):
    work_order = ready(engineer, device)
    return unit_receive(
        actor=engineer, work_order=work_order, condition="外壳完好", accessories="电源线一根"
    )


def in_progress(engineer, device, *, route: str = Route.WORKSHOP):
    """Started without a visit: received in the workshop then started, or remote support."""
    if route == Route.WORKSHOP:
        return work_start(actor=engineer, work_order=in_workshop(engineer, device))
    return work_start(actor=engineer, work_order=ready(engineer, device, route=route))


def expired_meter():
    """A measuring instrument whose calibration ran out on 2026-10-01."""
    meter = InstrumentFactory(
        number="SIM-OLD", name="旧心电模拟器", kind=InstrumentKind.MEASURING,
        calibration_due_on=datetime.date(2026, 10, 1),
    )  # fmt: skip
    InstrumentCalibration.objects.create(
        instrument=meter, calibrated_on=datetime.date(2025, 10, 1),
        valid_until=datetime.date(2026, 10, 1), performed_by="上海计量院",
    )  # fmt: skip
    return meter
