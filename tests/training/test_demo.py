"""The demo training data: a held session with a pass and a fail, the certification that
expires soon, articles (one for customers) and a manual whose first version was superseded."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from medservice.core.signatures import signature_is_intact, signatures_of
from medservice.training.models import (
    Certification,
    DocumentVersion,
    KnowledgeArticle,
    SessionAttendance,
)
from medservice.training.selectors import certifications_expiring

pytestmark = pytest.mark.django_db


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_seeds_training_once_with_its_story():
    call_command("seed_demo")
    first = (Certification.objects.count(), KnowledgeArticle.objects.count())
    call_command("seed_demo")

    assert (Certification.objects.count(), KnowledgeArticle.objects.count()) == first == (2, 4)
    assert sorted(SessionAttendance.objects.values_list("person__username", "passed")) == [
        ("agent", False),
        ("engineer", True),
    ]
    expiring = certifications_expiring(within_days=30)
    assert [(item.person.username, item.valid_until) for item in expiring] == [
        ("dist_engineer", timezone.localdate() + datetime.timedelta(days=20))
    ]
    versions = list(DocumentVersion.objects.order_by("version_label"))
    assert [(item.version_label, item.status) for item in versions] == [
        ("A/0", "superseded"),
        ("A/1", "approved"),
    ]
    assert all(signature_is_intact(signatures_of(item)[0], item) for item in versions)
    assert KnowledgeArticle.objects.filter(visibility="customer").count() == 1
