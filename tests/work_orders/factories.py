"""Work orders made directly (for scoping, lists and pages); the flow tests use the services."""

from __future__ import annotations

import factory

from medservice.work_orders.models import WorkOrder
from tests.installed_base.factories import DeviceFactory


class WorkOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkOrder

    number = factory.Sequence(lambda n: f"WO-2026-{n:06d}")
    kind = "repair"
    device = factory.SubFactory(DeviceFactory)
    organization = factory.LazyAttribute(lambda work_order: work_order.device.organization)
    problem = "无法开机"
