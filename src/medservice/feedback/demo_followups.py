"""Demo follow-ups, visits and surveys that tell the 回访/满意度 story: every closed request
has its follow-up call (one of them overdue), the hospital's survey answered well, another's
answered low with the manager's task waiting, a survey still open in the customer's portal,
and a planned visit to 县中医院 with a written opinion routed to quality and answered.

Idempotent: follow-ups and surveys are one per case, the visit is keyed by its purpose, and
answers are given only to surveys not yet answered."""

from __future__ import annotations

import datetime

from django.utils import timezone

from medservice.core.demo import demo_seeder

VISIT_PURPOSE = "年度走访：了解输液泵使用情况，征求书面意见"
GOOD = {"speed": 5, "attitude": 5, "professionalism": 4, "result": 5, "recommendation": 9,
        "comments": "工程师响应很快，讲解清楚。"}  # fmt: skip
LOW = {"speed": 2, "attitude": 3, "professionalism": 3, "result": 2, "recommendation": 4,
       "comments": "等了三天才上门。"}  # fmt: skip


@demo_seeder("follow-ups and surveys", order=60)
def seed_followups_and_surveys() -> None:
    from medservice.accounts.models import User
    from medservice.customers.models import Organization
    from medservice.feedback.choices import SurveyStatus
    from medservice.feedback.models import CustomerVisit, FollowUp, Survey
    from medservice.feedback.services_followups import (
        follow_up_schedule_for_ticket,
        opinion_add,
        opinion_answer,
        visit_create,
    )
    from medservice.feedback.services_surveys import (
        _issue_token,
        survey_answer,
        survey_create_for_ticket,
    )
    from medservice.tickets.models import Ticket

    agent = User.objects.filter(username="agent").first()
    quality = User.objects.filter(username="quality").first()
    if agent is None or quality is None:
        return
    closed = list(Ticket.objects.filter(status="closed", organization__isnull=False)
                  .order_by("pk"))  # fmt: skip
    for ticket in closed:
        follow_up_schedule_for_ticket(ticket=ticket)
        survey_create_for_ticket(ticket=ticket, send=False)
    # One call is overdue: the service manager's list shows it in red.
    first = FollowUp.objects.filter(ticket__in=closed, status="open").order_by("pk").first()
    if first is not None and first.due_on >= timezone.localdate():
        FollowUp.objects.filter(pk=first.pk).update(
            due_on=timezone.localdate() - datetime.timedelta(days=2)
        )
    surveys = list(Survey.objects.filter(ticket__in=closed).order_by("pk"))
    for survey, answers in zip(surveys[:2], (GOOD, LOW), strict=False):
        if survey.status == SurveyStatus.ANSWERED:
            continue
        token = _issue_token(survey)
        survey.status, survey.sent_at, survey.channel = "sent", timezone.now(), "email"
        survey.save()
        survey_answer(token=token, answers=answers)
    for survey in surveys[2:]:
        if survey.status == SurveyStatus.PENDING:
            survey.status, survey.sent_at, survey.channel = "sent", timezone.now(), "portal"
            survey.save()

    if CustomerVisit.objects.filter(purpose=VISIT_PURPOSE).exists():
        return
    hospital = Organization.objects.filter(name="县中医院").first()
    if hospital is None:
        return
    visit = visit_create(actor=agent, data={
        "kind": "planned", "organization": hospital, "purpose": VISIT_PURPOSE,
        "planned_on": timezone.localdate() - datetime.timedelta(days=5),
        "visited_on": timezone.localdate() - datetime.timedelta(days=5),
        "people_met": "设备科 李科长、内科 护士长",
        "summary": "设备运行正常，护士希望增加一次操作培训。",
    })  # fmt: skip
    opinion = opinion_add(
        actor=agent, visit=visit, text="输液泵阻塞报警声音偏小，夜班不易听到。",
        given_by="内科护士长", concerned="quality", routed_to=quality,
        due_on=timezone.localdate() + datetime.timedelta(days=7),
    )  # fmt: skip
    opinion_answer(actor=quality, opinion=opinion,
                   answer="已反馈生产企业，下一版本固件提供报警音量调节。")  # fmt: skip
    opinion_add(
        actor=agent, visit=visit, text="希望每季度安排一次使用培训。", given_by="设备科李科长",
        concerned="service", routed_to=User.objects.filter(username="manager").first() or agent,
    )  # fmt: skip
