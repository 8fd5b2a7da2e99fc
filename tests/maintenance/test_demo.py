"""The demo maintenance tells its story: PM plans with one overdue (a life-support device),
PM work orders opened by the job, a signed acceptance and a training with attendees; a second
run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from medservice.maintenance.models import (
    AcceptanceRecord,
    OperatorTraining,
    PmPlan,
    PmVisit,
    TrainingAttendee,
)

pytestmark = pytest.mark.django_db


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_seeds_maintenance_once_with_a_story():
    call_command("seed_demo")
    counts = [model.objects.count() for model in
              (PmPlan, PmVisit, AcceptanceRecord, OperatorTraining, TrainingAttendee)]  # fmt: skip
    call_command("seed_demo")
    assert [model.objects.count() for model in
            (PmPlan, PmVisit, AcceptanceRecord, OperatorTraining, TrainingAttendee)] == counts  # fmt: skip
    assert counts[0] >= 3 and counts[1] >= 1
    overdue = PmPlan.objects.filter(next_due_on__lt=timezone.localdate())
    assert overdue.filter(device__device_model__life_support=True).count() == 1
    assert AcceptanceRecord.objects.get().signed_at is not None
    assert counts[4] == 3
