"""Maintenance records made directly (for scoping, lists and pages); the flow tests use the
services."""

from __future__ import annotations

import datetime

import factory

from medservice.maintenance.models import (
    AcceptanceRecord,
    Installation,
    OperatorTraining,
    PmPlan,
    PmVisit,
    RetrainingSuggestion,
    TrainingAttendee,
)
from tests.factories import UserFactory
from tests.installed_base.factories import DeviceFactory
from tests.work_orders.factories import WorkOrderFactory


class PmPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PmPlan

    device = factory.SubFactory(DeviceFactory)
    organization = factory.LazyAttribute(lambda plan: plan.device.organization)
    interval_days = 180
    next_due_on = datetime.date(2026, 9, 6)


class PmVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PmVisit

    plan = factory.SubFactory(PmPlanFactory)
    device = factory.LazyAttribute(lambda visit: visit.plan.device)
    organization = factory.LazyAttribute(lambda visit: visit.plan.organization)
    due_on = factory.LazyAttribute(lambda visit: visit.plan.next_due_on)


class InstallationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Installation

    number = factory.Sequence(lambda n: f"IN-2026-{n:06d}")
    device = factory.SubFactory(DeviceFactory)
    organization = factory.LazyAttribute(lambda item: item.device.organization)


class AcceptanceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AcceptanceRecord

    number = factory.Sequence(lambda n: f"AC-2026-{n:06d}")
    device = factory.SubFactory(DeviceFactory)
    organization = factory.LazyAttribute(lambda item: item.device.organization)
    accepted_on = datetime.date(2026, 3, 10)
    customer_name = "李主任"


class OperatorTrainingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OperatorTraining

    number = factory.Sequence(lambda n: f"OT-2026-{n:06d}")
    organization = factory.SubFactory("tests.factories.OrganizationFactory")
    held_on = datetime.date(2026, 4, 1)
    content = "开机自检、报警设置与处理、日常清洁"
    trainer = factory.SubFactory(UserFactory)


class TrainingAttendeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingAttendee

    training = factory.SubFactory(OperatorTrainingFactory)
    organization = factory.LazyAttribute(lambda item: item.training.organization)
    name = factory.Sequence(lambda n: f"护士{n}")


class RetrainingSuggestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RetrainingSuggestion

    work_order = factory.SubFactory(WorkOrderFactory)
    device = factory.LazyAttribute(lambda item: item.work_order.device)
    organization = factory.LazyAttribute(lambda item: item.work_order.organization)
    reason = "未按说明书更换袖带，导致测量失败"
