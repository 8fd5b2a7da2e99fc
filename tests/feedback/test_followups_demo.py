"""The demo tells the 回访/满意度 story (follow-ups, an overdue call, a good and a low survey,
a visit with routed opinions); a second run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from medservice.feedback.models import (
    CustomerVisit,
    FollowUp,
    Survey,
    SurveyEscalation,
    VisitOpinion,
)

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (
        FollowUp, Survey, SurveyEscalation, CustomerVisit, VisitOpinion,
    ))  # fmt: skip


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_seeds_follow_ups_and_surveys_once():
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first[0] >= 1 and first[1] >= 2
    assert Survey.objects.filter(status="answered").count() == 2
    assert SurveyEscalation.objects.filter(status="open").count() == 1
    assert sorted(VisitOpinion.objects.values_list("status", flat=True)) == ["answered", "open"]
