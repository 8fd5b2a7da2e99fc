"""The demo spare parts tell the warehouse's story: stock in two warehouses and a van, two parts
below their reorder point, a held lot, a part fitted into a monitor; a second run adds nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings

from medservice.inventory.models import Instrument, Part, PartLot, StockBalance, StockMovement
from medservice.inventory.selectors import parts_below_reorder_point

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (Part, PartLot, StockMovement, StockBalance, Instrument)
    )


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_seeds_spare_parts_once_with_a_story():
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")

    assert counts() == first
    # The returns demo adds its own stock item (a whole monitor kept as an exchange unit).
    assert Part.objects.exclude(number="KD-M8000-UNIT").count() == 12
    assert [part.number for part in parts_below_reorder_point()] == [
        "KD-ECG-5L",
        "KD-IP300-SENS",
    ]
    assert list(PartLot.objects.filter(on_hold=True).values_list("lot_number", flat=True)) == [
        "SP2502"
    ]
    fitted = StockMovement.objects.get(kind="consumption")
    assert (fitted.part.number, fitted.quantity, fitted.device.device_model.model_spec) == (
        "KD-M8000-PSU",
        Decimal(1),
        "KD-M8000",
    )
    assert not StockBalance.objects.filter(quantity__lt=0).exists()
