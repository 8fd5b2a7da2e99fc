"""The demo installed base: believable, idempotent, and independent of the catalogue demo."""

from __future__ import annotations

import re

import pytest
from django.db.models import Count
from django.test import override_settings

from medservice.catalog.models import DeviceModel
from medservice.installed_base.demo import HOLD, seed_installed_base
from medservice.installed_base.models import Delivery, DeliveryLine, Device, Hold, ServiceContract
from medservice.installed_base.services import hold_active_for

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Delivery, DeliveryLine, Device, ServiceContract, Hold, DeviceModel)
    )


@override_settings(MEDSERVICE_DEMO=True)
def test_the_full_demo_seeds_the_installed_base_once(today):
    from django.core.management import call_command

    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert 280 <= Device.objects.count() <= 320
    assert all(
        re.fullmatch(r"[A-Z0-9]+-\d{4}-\d{5}", serial)
        for serial in Device.objects.values_list("serial_number", flat=True)
    )
    assert Device.objects.filter(warranty_ends_on__lt=today).exists()
    assert Device.objects.filter(warranty_ends_on__gte=today).exists()
    assert sorted(ServiceContract.objects.values_list("kind", flat=True)) == [
        "full_service",
        "pm_only",
        "warranty_extension",
    ]
    # The installed base's own hold (the quality demo adds its cases' holds beside it).
    hold = Hold.objects.get(source=HOLD[3])
    assert hold_active_for(device_model=hold.device_model, batch_number=hold.batch_number) == hold
    # Batch lines of consumables stay as lines; several units share a batch.
    assert DeliveryLine.objects.filter(serial_number="", quantity__gt=1).exists()
    assert Device.objects.filter(batch_number="2303").count() > 5
    # A batch spread over several customers is what a recall has to reach.
    shared_batches = (
        Device.objects.values("device_model", "batch_number")
        .annotate(customers=Count("organization", distinct=True))
        .filter(customers__gte=2)
    )
    assert shared_batches.count() >= 5
    assert Device.objects.values("device_model").distinct().count() >= 12


def test_the_installed_base_demo_runs_without_the_catalogue_demo():
    from medservice.customers.demo import seed_organizations_and_users

    seed_organizations_and_users()
    seed_installed_base()
    first = counts()
    assert first[2] >= 280  # the units, on minimal models created by their natural keys
    seed_installed_base()
    assert counts() == first
