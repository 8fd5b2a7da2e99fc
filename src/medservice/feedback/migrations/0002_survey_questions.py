"""Seed the satisfaction survey's questions (a data migration, kept apart from the schema so
the schema migration can be regenerated): response speed, attitude, professionalism and result
(1–5), recommendation (0–10) and comments. Existing codes are left as edited."""

from django.db import migrations

QUESTIONS = [
    ("speed", "score", "您对我们的响应速度是否满意？", "How satisfied are you with our response speed?", 10, True),
    ("attitude", "score", "您对服务人员的服务态度是否满意？", "How satisfied are you with our staff's attitude?", 20, True),
    ("professionalism", "score", "您对服务人员的专业水平是否满意？", "How satisfied are you with our staff's professionalism?", 30, True),
    ("result", "score", "您对本次服务的结果是否满意？", "How satisfied are you with the result of the service?", 40, True),
    ("recommendation", "recommendation", "您有多大可能向同行推荐我们的服务？（0–10）", "How likely are you to recommend our service to a colleague? (0–10)", 50, True),
    ("comments", "text", "您还有什么意见或建议？", "Any other comments or suggestions?", 60, False),
]


def seed(apps, schema_editor):
    SurveyQuestion = apps.get_model("feedback", "SurveyQuestion")
    for code, kind, text_zh, text_en, order, required in QUESTIONS:
        SurveyQuestion.objects.get_or_create(
            code=code,
            defaults={"kind": kind, "text_zh": text_zh, "text_en": text_en, "order": order,
                      "required": required, "active": True},
        )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
