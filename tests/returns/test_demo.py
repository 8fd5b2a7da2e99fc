"""The demo returns tell the 退换货 story: the rules, a request waiting for evaluation, and an
exchange carried out to the end; a second run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from medservice.returns.models import ExchangeUnit, ReturnRequest, ReturnRule

pytestmark = pytest.mark.django_db


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_seeds_returns_once_with_a_story():
    call_command("seed_demo")
    first = (
        ReturnRule.objects.count(),
        ReturnRequest.objects.count(),
        ExchangeUnit.objects.count(),
    )
    call_command("seed_demo")

    assert (
        ReturnRule.objects.count(), ReturnRequest.objects.count(), ExchangeUnit.objects.count()
    ) == first  # fmt: skip
    assert sorted(ReturnRequest.objects.values_list("status", flat=True)) == ["closed", "requested"]
    unit = ExchangeUnit.objects.get()
    assert unit.old_device.status == "returned"
    assert unit.new_device.organization == unit.old_device.organization
    assert unit.new_device.warranty_ends_on == unit.old_device.warranty_ends_on
