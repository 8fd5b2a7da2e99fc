"""A demo spot-check plan: two closed service requests per engineer each month, reviewed by
the service manager against a three-point checklist; and last month's sample drawn, so the
spot-check pages have something to show. Idempotent: the plan is keyed by its name, the
checklist by code, the sample by plan and period."""

from __future__ import annotations

from django.utils import timezone

from medservice.core.demo import demo_seeder

PLAN_NAME = "每月结案抽查"
CHECKLIST = [
    ("diagnosis", "故障诊断是否正确、有依据", "Was the fault diagnosed correctly, with evidence?"),
    ("records", "处理记录与回访记录是否完整", "Are the handling and follow-up records complete?"),
    ("customer", "是否按时告知客户处理结果", "Was the customer told the outcome on time?"),
]


@demo_seeder("spot checks", order=90)
def seed_spot_checks() -> None:
    from medservice.accounts.models import User
    from medservice.analytics.choices import SpotCheckRecordKind, SpotCheckStratum
    from medservice.analytics.models import SpotCheckChecklistItem, SpotCheckPlan
    from medservice.analytics.spot_checks import previous_month, spot_check_sample_create

    plan, _created = SpotCheckPlan.objects.get_or_create(
        name=PLAN_NAME,
        defaults={
            "record_kind": SpotCheckRecordKind.CLOSED_TICKETS,
            "stratum": SpotCheckStratum.ENGINEER,
            "size_per_stratum": 2,
            "default_reviewer": User.objects.filter(username="manager").first(),
        },
    )
    for order, (code, text_zh, text_en) in enumerate(CHECKLIST, start=1):
        SpotCheckChecklistItem.objects.get_or_create(
            plan=plan, code=code,
            defaults={"text_zh": text_zh, "text_en": text_en, "order": order},
        )  # fmt: skip
    start, end = previous_month(timezone.localdate())
    spot_check_sample_create(plan=plan, period_start=start, period_end=end)
