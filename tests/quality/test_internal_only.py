"""Every quality record is the company's own: whatever exists, a customer's or a distributor's
user reaches none of it — not through a selector, a page or the API — while the quality
manager reaches each. Checked over every resource the quality app registers, on the demo data
(which holds a record of each kind, the few it lacks added here)."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from medservice.accounts.models import User
from medservice.core.demo import demo_seed_all
from medservice.core.registry import RESOURCES
from medservice.quality.models import QualityAccident, TrendSignal
from tests.quality.factories_accidents import accident_recorded

pytestmark = pytest.mark.django_db


def quality_resources() -> dict[str, object]:
    return {
        name: resource for name, resource in RESOURCES.items() if resource.namespace == "quality"
    }


def test_the_resources_checked_are_all_the_quality_apps(db):
    assert sorted(quality_resources()) == [
        "adverse-event-reports", "capas", "quality-accidents", "quality-cases", "recalls",
        "reporting-rules", "supplier-notices", "trend-signals",
    ]  # fmt: skip


def test_no_customer_or_distributor_reaches_a_quality_record(client):
    # Given the demo, plus the kinds of record its story does not make
    demo_seed_all()
    manager = User.objects.get(username="qa_manager")
    if not QualityAccident.objects.exists():
        accident_recorded(actor=manager)
    if not TrendSignal.objects.exists():
        TrendSignal.objects.create(
            dimension="model", key="1", label="KD-M8000", month=datetime.date(2026, 10, 1), observed=9,
            expected=2.0, exposure=100, baseline_count=24, baseline_exposure=1200,
            p_value=0.0002,
        )  # fmt: skip
    outsiders = [User.objects.get(username=name) for name in ("customer", "dist_engineer")]
    api = APIClient()
    for name, resource in quality_resources().items():
        record = resource.model.objects.order_by("pk").first()
        assert record is not None, name
        page = f"/quality/{name}/{record.pk}/"
        endpoint = f"/api/v1/{name}/{record.pk}/"
        # The quality manager reaches it by both faces
        client.force_login(manager)
        api.force_authenticate(manager)
        assert resource.selector(manager).filter(pk=record.pk).exists(), name
        assert (client.get(page).status_code, api.get(endpoint).status_code) == (200, 200), name
        # And no outsider reaches anything of its kind
        for outsider in outsiders:
            client.force_login(outsider)
            api.force_authenticate(outsider)
            assert not resource.selector(outsider).exists(), (name, outsider.username)
            assert client.get(page).status_code in (403, 404), (name, outsider.username)
            assert api.get(endpoint).status_code in (403, 404), (name, outsider.username)
            # (the lists refuse outsiders outright rather than answer an empty page)
            assert api.get(f"/api/v1/{name}/").status_code in (403, 404), name
