"""Demo work orders that tell the field-service story: engineer badges, the company's rate card
(cost price), a monitor repair covered by the warranty with the engineer booked for this
afternoon, an ultrasound probe damaged by misuse with a cost-price quote waiting for the
customer, and last month's PM visit completed, tested with a calibrated simulator and signed.

Idempotent: each demo work order is keyed by its problem text; a second run adds nothing. The
history is replayed at believable past times by running the real services with the clock set
back, so the audit trail, the visit times and the downtime read as in real life."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from unittest import mock

from django.utils import timezone

from medservice.core.demo import demo_seeder
from medservice.core.errors import DomainError

PROFILES = (
    # username, badge number, region, visits a day
    ("engineer", "SH-0101", "上海", 4),
    ("dist_engineer", "NJ-D-0201", "南京", 3),
)
REPAIR_PROBLEM = "ICU 3 床监护仪开机后黑屏，指示灯亮。"
QUOTE_PROBLEM = "彩超凸阵探头图像出现竖条纹，探头外壳有跌落裂痕。"
PM_PROBLEM = "半年度预防性维护（KD-M8000）。"


@contextlib.contextmanager
def _at(moment: datetime.datetime) -> Iterator[None]:
    """Run services as if it were `moment` (demo history only)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@demo_seeder("work orders", order=45)
def seed_work_orders() -> None:
    from medservice.accounts.models import EngineerProfile, User
    from medservice.work_orders.models import RateCard

    users = {user.username: user for user in User.objects.filter(is_active=True)}
    for username, badge, region, capacity in PROFILES:
        user = users.get(username)
        if user is not None and not EngineerProfile.objects.filter(user=user).exists():
            EngineerProfile.objects.create(
                user=user, badge_number=badge, region=region, daily_capacity=capacity
            )
    if not RateCard.objects.filter(organization__isnull=True, active=True).exists():
        RateCard.objects.create(
            name="标准收费（成本价）",
            labour_rate=Decimal("150.00"),
            travel_rate=Decimal("60.00"),
            travel_flat=Decimal("80.00"),
        )
    engineer, manager, agent = users.get("engineer"), users.get("manager"), users.get("agent")
    if engineer is None or manager is None or agent is None:
        return
    _repair_booked_today(engineer=engineer, manager=manager)
    _misuse_quoted(engineer=engineer)
    _pm_completed(engineer=engineer, manager=manager)


def _repair_booked_today(*, engineer: Any, manager: Any) -> None:
    """The ICU monitor from the desk's demo request: covered, planned, engineer booked."""
    from medservice.tickets.models import Ticket
    from medservice.work_orders.dispatch import work_order_dispatch
    from medservice.work_orders.models import WorkOrder
    from medservice.work_orders.services import (
        work_order_assess,
        work_order_create,
        work_order_plan,
    )

    if WorkOrder.objects.filter(problem=REPAIR_PROBLEM).exists():
        return
    ticket = Ticket.objects.filter(subject="ICU 监护仪开机黑屏", device__isnull=False).first()
    if ticket is None:
        return
    now = timezone.now().replace(microsecond=0)
    with _at(now - datetime.timedelta(minutes=50)):
        work_order = work_order_create(
            actor=manager, kind="repair", device=ticket.device, problem=REPAIR_PROBLEM,
            ticket=ticket, owner=engineer,
        )  # fmt: skip
    with _at(now - datetime.timedelta(minutes=40)):
        work_order = work_order_assess(
            actor=engineer, work_order=work_order, route="on_site",
            assessment="电话排查：电源指示灯亮、屏幕无显示，疑似电源板或背光故障，需上门。",
        )  # fmt: skip
        work_order = work_order_plan(
            actor=engineer, work_order=work_order,
            plan="上门检测电源板与背光板，携带电源板备件，必要时更换。",
            estimated_hours=Decimal("2"), promised_by=timezone.localdate() + datetime.timedelta(days=2),
        )  # fmt: skip
        if work_order.status == "planned":
            # Out of warranty on the demo's day: quoted at cost price, approved by phone.
            from medservice.work_orders.services import (
                work_order_approve_quote,
                work_order_quote,
            )

            work_order_quote(actor=engineer, work_order=work_order, labour_hours=Decimal("2"))
            work_order = work_order_approve_quote(
                actor=manager, work_order=work_order, method="phone", decided_by_name="钱丽华"
            )
    local = timezone.localtime(now)
    start = local.replace(hour=14, minute=0, second=0)
    if start <= local:
        start = local.replace(second=0) + datetime.timedelta(hours=1)
    window = {"window_start": start, "window_end": start + datetime.timedelta(hours=2)}
    with _at(now - datetime.timedelta(minutes=30)):
        try:
            work_order_dispatch(actor=manager, work_order=work_order, engineer=engineer, **window)
        except DomainError:
            # Not a candidate on the demo's day (e.g. a certification not seeded): the
            # manager's override, as in real life.
            work_order_dispatch(
                actor=manager, work_order=work_order, engineer=engineer,
                override_reason="客户指定熟悉该设备的张工。", **window,
            )  # fmt: skip


def _misuse_quoted(*, engineer: Any) -> None:
    """An ultrasound probe dropped by the user: excluded, quoted at cost price, waiting."""
    from medservice.installed_base.models import Device
    from medservice.inventory.models import Part
    from medservice.work_orders.models import WorkOrder
    from medservice.work_orders.services import (
        PlannedPart,
        work_order_assess,
        work_order_create,
        work_order_plan,
        work_order_quote,
    )

    if WorkOrder.objects.filter(problem=QUOTE_PROBLEM).exists():
        return
    device = Device.objects.filter(device_model__model_spec="HK-U60").order_by("pk").first()
    if device is None:
        device = Device.objects.exclude(device_model__model_spec="KD-M8000").order_by("pk").first()
    if device is None:
        return
    now = timezone.now().replace(microsecond=0)
    part = Part.objects.filter(compatible_models=device.device_model_id).order_by("number").first()
    with _at(now - datetime.timedelta(days=2)):
        work_order = work_order_create(
            actor=engineer, kind="repair", device=device, problem=QUOTE_PROBLEM
        )
        work_order = work_order_assess(
            actor=engineer, work_order=work_order, route="workshop",
            assessment="探头外壳裂痕，晶片受损，需返厂更换探头组件。", exclusion="misuse",
            exclusion_evidence="探头外壳有明显跌落裂痕（照片已存档）。",
        )  # fmt: skip
        work_order = work_order_plan(
            actor=engineer, work_order=work_order, plan="返回维修中心更换探头组件并做图像测试。",
            estimated_hours=Decimal("3"),
        )  # fmt: skip
        work_order_quote(
            actor=engineer, work_order=work_order,
            parts=[PlannedPart(part, Decimal(1))] if part is not None else [],
            labour_hours=Decimal("3"), valid_until=timezone.localdate() + datetime.timedelta(days=14),
            note="按成本价报价。",
        )  # fmt: skip


# A tiny drawn stroke (8 × 4 pixels): the demo customer's "signature".
DEMO_SIGNATURE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAECAYAAACzzX7wAAAAEUlEQVR4nGNgYGD4TwDTWg"
    "EACOwf4fAWWoUAAAAASUVORK5CYII="
)


def _pm_completed(*, engineer: Any, manager: Any) -> None:
    """Last month's PM of a monitor: dispatched, checked in, every acceptance item measured
    with the calibrated vital-signs simulator, screened, completed and signed on site."""
    from medservice.customers.demo import DEMO_PASSWORD
    from medservice.installed_base.models import Device
    from medservice.inventory.models import Instrument, InstrumentCalibration
    from medservice.work_orders.dispatch import (
        visit_check_in,
        visit_check_out,
        work_order_dispatch,
    )
    from medservice.work_orders.models import WorkOrder
    from medservice.work_orders.onsite import (
        TestInput,
        diagnosis_record,
        screening_record,
        test_record,
        time_record,
    )
    from medservice.work_orders.reports import report_current, report_sign
    from medservice.work_orders.services import (
        work_order_approve_quote,
        work_order_assess,
        work_order_complete,
        work_order_create,
        work_order_plan,
        work_order_quote,
    )

    if WorkOrder.objects.filter(problem=PM_PROBLEM).exists():
        return
    device = (
        Device.objects.filter(
            device_model__model_spec="KD-M8000", organization__name="市第一人民医院"
        )
        .exclude(work_orders__isnull=False)
        .order_by("pk")
        .first()
    )
    simulator = Instrument.objects.filter(number="T-0003").first()
    if device is None or simulator is None:
        return
    today = timezone.localdate()
    if not InstrumentCalibration.objects.filter(instrument=simulator).exists():
        InstrumentCalibration.objects.create(
            instrument=simulator,
            calibrated_on=today - datetime.timedelta(days=125),
            valid_until=simulator.calibration_due_on or today + datetime.timedelta(days=240),
            performed_by="上海市计量测试技术研究院",
            certificate_number="2026-JL-08817",
        )
    local = timezone.localtime(timezone.now()).replace(hour=9, minute=0, second=0, microsecond=0)
    opened = local - datetime.timedelta(days=30)
    visit = opened + datetime.timedelta(days=1, hours=1)
    with _at(opened):
        work_order = work_order_create(
            actor=manager, kind="preventive_maintenance", device=device, problem=PM_PROBLEM,
            owner=engineer,
        )  # fmt: skip
        work_order = work_order_assess(
            actor=engineer, work_order=work_order, route="on_site",
            assessment="按保养计划上门：清洁、检查电池与附件、性能检测。",
        )  # fmt: skip
        work_order = work_order_plan(
            actor=engineer, work_order=work_order, plan="按 KD-M8000 保养检查表执行。",
            estimated_hours=Decimal("1.5"),
        )  # fmt: skip
        if work_order.status == "planned":
            work_order_quote(actor=engineer, work_order=work_order, labour_hours=Decimal("1.5"))
            work_order = work_order_approve_quote(
                actor=manager, work_order=work_order, method="phone", decided_by_name="钱丽华"
            )
        window = {"window_start": visit, "window_end": visit + datetime.timedelta(hours=2)}
        try:
            work_order = work_order_dispatch(
                actor=manager, work_order=work_order, engineer=engineer, **window
            )
        except DomainError:
            work_order = work_order_dispatch(
                actor=manager, work_order=work_order, engineer=engineer,
                override_reason="保养计划指定张工。", **window,
            )  # fmt: skip
    arrived = visit + datetime.timedelta(minutes=10)
    with _at(arrived):
        work_order = visit_check_in(actor=engineer, work_order=work_order)
        work_order = diagnosis_record(
            actor=engineer, work_order=work_order, symptom="定期保养，无故障报告。",
            actions_taken="清洁主机与导联线，检查电池容量（92%），更新报警设置，完成性能检测。",
        )  # fmt: skip
        items = list(device.device_model.acceptance_items.order_by("position", "pk"))
        test_record(
            actor=engineer,
            work_order=work_order,
            results=[
                TestInput(item=item, measured_value=item.expected_value, instrument=simulator)
                if item.expected_value is not None
                else TestInput(item=item, passed=True)
                for item in items
            ],
        )
        time_record(actor=engineer, work_order=work_order, kind="labour",
                    day=arrived.date(), hours=Decimal("1.5"))  # fmt: skip
        screening_record(actor=engineer, work_order=work_order, is_complaint=False,
                         may_be_reportable=False, note="定期保养，无投诉。")  # fmt: skip
    left = arrived + datetime.timedelta(minutes=95)
    with _at(left):
        work_order = visit_check_out(actor=engineer, work_order=work_order)
        work_order = work_order_complete(
            actor=engineer, work_order=WorkOrder.objects.get(pk=work_order.pk),
            result="returned_to_service", password=DEMO_PASSWORD,
        )  # fmt: skip
        report = report_current(work_order)
        if report is not None:
            report_sign(actor=engineer, report=report, printed_name="钱丽华",
                        signature_image=DEMO_SIGNATURE)  # fmt: skip
