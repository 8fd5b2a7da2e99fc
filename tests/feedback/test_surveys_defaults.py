"""The standard survey questions come back after a flush, and a manager's edits are kept."""

from __future__ import annotations

import pytest
from django.core.management.sql import emit_post_migrate_signal

from medservice.core.models import AuditEvent
from medservice.feedback.models import SurveyQuestion

pytestmark = pytest.mark.django_db

CODES = ["speed", "attitude", "professionalism", "result", "recommendation", "comments"]


def test_the_migration_seeds_the_six_standard_questions_in_order():
    assert list(SurveyQuestion.objects.order_by("order").values_list("code", flat=True)) == CODES


def test_a_flush_restores_missing_questions_and_keeps_edited_ones():
    # Given a manager reworded one question and the others were lost (a flush empties the table)
    SurveyQuestion.objects.filter(code="speed").update(text_en="Were we quick enough?")
    for question in SurveyQuestion.objects.exclude(code="speed"):
        question.delete()
    # When post_migrate runs, as it does after every migrate and flush
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    # Then every standard question exists once, and the edited wording is kept
    assert sorted(SurveyQuestion.objects.values_list("code", flat=True)) == sorted(CODES)
    assert SurveyQuestion.objects.get(code="speed").text_en == "Were we quick enough?"
    assert SurveyQuestion.objects.get(code="comments").required is False


def test_restoring_the_defaults_writes_no_audit_event():
    # Given the questions were lost
    for question in SurveyQuestion.objects.all():
        question.delete()
    events = AuditEvent.objects.count()
    # When post_migrate restores them
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    # Then the six questions are back and the audit trail holds only what people did
    assert SurveyQuestion.objects.count() == 6
    assert AuditEvent.objects.count() == events
