"""Demo maintenance that tells the 保养 / 验收 / 培训 story: PM plans for the units whose model
has a PM interval — a life-support ventilator's PM overdue, the nearest PM work orders already
opened by the job; one unit accepted by the customer with the certificates handed over; and an
operator training with its attendees.

Idempotent: a unit with a plan keeps it, the acceptance and the training are keyed by their
device and content; a second run adds nothing. Every step runs through the real services."""

from __future__ import annotations

import datetime

from django.utils import timezone

from medservice.core.demo import demo_seeder

TRAINING_CONTENT = "呼吸机开机自检、通气模式设置、报警识别与处理、管路更换与消毒（使用培训）"


@demo_seeder("maintenance", order=58)
def seed_maintenance() -> None:
    from medservice.accounts.models import User
    from medservice.installed_base.models import Device
    from medservice.maintenance.models import AcceptanceRecord, OperatorTraining, PmPlan
    from medservice.maintenance.services import pm_plan_create, pm_work_orders_create
    from medservice.maintenance.services_acceptance import acceptance_create, acceptance_sign
    from medservice.maintenance.services_training import operator_training_create

    today = timezone.localdate()
    manager = User.objects.filter(username="manager").first()
    engineer = User.objects.filter(username="engineer").first() or manager
    planned = Device.objects.filter(
        device_model__pm_interval_days__isnull=False,
        status__in=("installed", "in_service"),
        serial_number__gt="",
    ).select_related("device_model", "organization")
    # A life-support unit first (its PM will be overdue), then a dozen others.
    units = list(planned.filter(device_model__life_support=True).order_by("pk")[:1]) + list(
        planned.filter(device_model__life_support=False).order_by("pk")[:11]
    )
    life_support_late = False
    for index, unit in enumerate(units):
        if PmPlan.objects.filter(device=unit).exists():
            continue
        if unit.device_model.life_support and not life_support_late:
            due = today - datetime.timedelta(days=9)  # overdue: shows on the overdue list
            life_support_late = True
        else:
            due = today + datetime.timedelta(days=5 + 11 * index)
        pm_plan_create(actor=manager, data={"device": unit, "next_due_on": due})
    # The job opens the work orders of the PM due within the lead time (the overdue one too).
    pm_work_orders_create(today=today)

    # An acceptance signed on site, with the certificates handed over.
    unaccepted = (
        Device.objects.filter(accepted_on__isnull=True, serial_number__gt="")
        .exclude(acceptance_records__isnull=False)
        .filter(device_model__product_type="active")
        .select_related("device_model")
        .order_by("pk")
        .first()
    )
    if unaccepted is not None and not AcceptanceRecord.objects.exists():
        start = unaccepted.installed_on or (
            unaccepted.delivery_line.delivery.delivered_on if unaccepted.delivery_line_id else None
        )
        accepted_on = max(start or today, today - datetime.timedelta(days=3))
        record = acceptance_create(actor=engineer, data={
            "device": unaccepted, "accepted_on": min(accepted_on, today),
            "customer_name": "陈建国", "customer_title": "设备科科长",
            "conformity_certificate_handed": True,
            "registration_certificate_handed": bool(unaccepted.device_model.registration_number),
            "other_documents": "使用说明书、保修卡、装箱单",
        })  # fmt: skip
        acceptance_sign(actor=engineer, acceptance=record, printed_name="陈建国")

    # An operator training on a ventilator (or the first planned unit).
    if not OperatorTraining.objects.filter(content=TRAINING_CONTENT).exists():
        unit = (
            Device.objects.filter(device_model__life_support=True, serial_number__gt="")
            .select_related("organization", "department")
            .order_by("pk")
            .first()
        ) or (units[0] if units else None)
        if unit is None:
            return
        department = unit.department or unit.organization.departments.order_by("pk").first()
        operator_training_create(actor=engineer, data={
            "organization": unit.organization, "department": department, "devices": [unit],
            "held_on": today - datetime.timedelta(days=12), "location": "示教室",
            "content": TRAINING_CONTENT, "trainer": engineer,
            "materials": "操作手册（中文版）、快速操作卡",
            "attendees": [
                {"name": "周丽", "department": department, "position": "护士长"},
                {"name": "吴昊", "department": department, "position": "主治医师"},
                {"name": "郑敏", "department": department, "position": "护士"},
            ],
        })  # fmt: skip
