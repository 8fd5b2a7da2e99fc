"""The standard satisfaction-survey questions, and their restoration after a database flush.

Migration 0002 seeds the same questions (a migration keeps its own frozen copy). A flush (a
test's, or an operator's `flush`) empties the table and then emits post_migrate, so the
questions come back here; existing codes are never touched, so a manager's edits stay.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models import QuerySet

# code, kind, Chinese text, English text, order, required
STANDARD_QUESTIONS = [
    ("speed", "score", "您对我们的响应速度是否满意？", "How satisfied are you with our response speed?", 10, True),
    ("attitude", "score", "您对服务人员的服务态度是否满意？", "How satisfied are you with our staff's attitude?", 20, True),
    ("professionalism", "score", "您对服务人员的专业水平是否满意？", "How satisfied are you with our staff's professionalism?", 30, True),
    ("result", "score", "您对本次服务的结果是否满意？", "How satisfied are you with the result of the service?", 40, True),
    ("recommendation", "recommendation", "您有多大可能向同行推荐我们的服务？（0–10）", "How likely are you to recommend our service to a colleague? (0–10)", 50, True),
    ("comments", "text", "您还有什么意见或建议？", "Any other comments or suggestions?", 60, False),
]  # fmt: skip


def standard_questions_ensure(sender: AppConfig, **kwargs: Any) -> None:
    """post_migrate receiver: create the standard questions whose code is missing."""
    # migrate passes its model state; flush passes none, and then the live models apply.
    state_apps = kwargs.get("apps") or global_apps
    try:
        question_model = state_apps.get_model("feedback", "SurveyQuestion")
    except LookupError:  # migrated back before the survey tables existed
        return
    using = kwargs.get("using", "default")
    existing = set(question_model.objects.using(using).values_list("code", flat=True))
    # A plain queryset, as in the migration: restoring the system's own defaults is not a user
    # action, so it writes no audit event (an audited bulk_create would, after every flush).
    QuerySet(model=question_model, using=using).bulk_create(
        question_model(
            code=code,
            kind=kind,
            text_zh=text_zh,
            text_en=text_en,
            order=order,
            required=required,
            active=True,
        )
        for code, kind, text_zh, text_en, order, required in STANDARD_QUESTIONS
        if code not in existing
    )
