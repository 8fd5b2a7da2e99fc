"""Demo training and knowledge: this year's plan with its topics; a monitor repair course held,
where the demo engineer passed (certified for the monitor line) and one colleague failed; the
distributor's engineer certified for infusion pumps until three weeks from now (the one
expiring); four knowledge articles (one a service bulletin, one for customers); a controlled
service manual whose second version replaced the first.

Idempotent: the plan by year and name, the session by title, certifications by person and
model or line, articles by title, the document by code.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from medservice.core.demo import demo_seeder
from medservice.core.numbering import number_next
from medservice.core.signatures import signature_sign
from medservice.customers.demo import DEMO_PASSWORD
from medservice.training.choices import (
    ArticleKind,
    ArticleStatus,
    DocumentKind,
    DocumentVersionStatus,
    PlanPeriod,
    SessionStatus,
    TopicCategory,
    Visibility,
)
from medservice.training.models import (
    Certification,
    ControlledDocument,
    DocumentVersion,
    KnowledgeArticle,
    KnowledgeArticleVersion,
    SessionAttendance,
    TrainingPlan,
    TrainingSession,
    TrainingTopic,
)

TOPICS = [
    # (title, category, month)
    ("监护仪原理与常见故障维修", TopicCategory.PRODUCT, 3),
    ("输液泵、注射泵校准与维修", TopicCategory.PRODUCT, 5),
    ("售后服务流程与服务承诺", TopicCategory.SERVICE_PROCESS, 2),
    ("客户沟通与投诉处理", TopicCategory.COMPLAINTS, 6),
    ("医疗器械监督管理条例与不良事件监测", TopicCategory.REGULATIONS, 9),
    ("电气安全与现场作业安全", TopicCategory.SAFETY, 4),
]

ARTICLES = [
    # (title, kind, visibility, symptom, body, fault code)
    (
        "血氧无读数或读数跳动的排查",
        ArticleKind.SOLUTION,
        Visibility.INTERNAL,
        "监护仪血氧（SpO2）无读数，或读数频繁跳动。",
        "1. 检查血氧探头是否与患者手指贴合，避免指甲油和强光干扰。\n"
        "2. 更换已知良好的血氧探头测试；若恢复，更换探头（备件 KD-SPO2-AD）。\n"
        "3. 检查探头延长线插头是否松动或针脚弯曲。\n"
        "4. 仍无读数时进入维修菜单查看血氧模块自检结果，必要时更换血氧模块。",
        "MON-02-01",
    ),
    (
        "电池不充电：更换电池和检查电源板",
        ArticleKind.SOLUTION,
        Visibility.INTERNAL,
        "接通交流电后电池指示灯不亮，电池无法充电。",
        "先确认电池使用年限（超过两年容量明显下降）。更换电池（备件 KD-BAT-14V）后仍不充电，"
        "测量电源板充电输出电压，异常则更换电源板（备件 KD-M8000-PSU）。",
        "MON-03-01",
    ),
    (
        "服务通告：KD-M8000 软件升级至 V2.3.1（修正无创血压偶发测量失败）",
        ArticleKind.BULLETIN,
        Visibility.INTERNAL,
        "部分 KD-M8000 在低温环境下无创血压偶发测量失败。",
        "适用序列号：KM8-2401 至 KM8-2512 批次。下次维护保养时升级软件至 V2.3.1，升级后执行"
        "无创血压静态压力校验并记录于服务报告。",
        "MON-02-02",
    ),
    (
        "监护仪日常清洁与电池保养",
        ArticleKind.SOLUTION,
        Visibility.CUSTOMER,
        "如何清洁监护仪、保养电池，延长使用寿命。",
        "用柔软的湿布蘸中性清洁剂擦拭外壳和屏幕，切勿让液体进入接口。长期不用时每月充放电一次；"
        "电池鼓包、充不进电请停止使用并联系售后服务热线。",
        None,
    ),
]


@demo_seeder("training and knowledge", order=25)
def seed_training() -> None:
    from medservice.accounts.models import User
    from medservice.catalog.models import DeviceModel, FaultCode

    today = timezone.localdate()
    manager = User.objects.filter(username="manager").first()
    engineer = User.objects.filter(username="engineer").first()
    distributor_engineer = User.objects.filter(username="dist_engineer").first()
    monitor = DeviceModel.objects.filter(model_spec="KD-M8000").first()
    pump = DeviceModel.objects.filter(model_spec="KD-IP300").first()
    monitors = monitor.product_line if monitor is not None else None

    plan, _created = TrainingPlan.objects.get_or_create(
        year=today.year,
        name=f"{today.year} 年度售后服务培训计划",
        defaults={"period": PlanPeriod.ANNUAL, "owner": manager},
    )
    topics = {}
    for title, category, month in TOPICS:
        topics[title], _created = TrainingTopic.objects.get_or_create(
            plan=plan,
            title=title,
            defaults={
                "category": category,
                "planned_on": datetime.date(today.year, month, 15),
                "product_line": monitors if title.startswith("监护仪") else None,
            },
        )

    if monitors is not None and engineer is not None:
        held_on = today - datetime.timedelta(days=120)
        session = TrainingSession.objects.filter(title=TOPICS[0][0]).first()
        if session is None:
            session = TrainingSession.objects.create(
                number=number_next(prefix="TR"),
                topic=topics[TOPICS[0][0]],
                title=TOPICS[0][0],
                category=TopicCategory.PRODUCT,
                product_line=monitors,
                trainer=manager,
                starts_at=timezone.make_aware(datetime.datetime.combine(held_on, datetime.time(9))),
                place="上海总部培训室",
                status=SessionStatus.HELD,
                pass_mark=Decimal(70),
                practical_required=True,
                certifies=True,
                certification_months=24,
            )
            SessionAttendance.objects.create(
                session=session,
                person=engineer,
                attended=True,
                written_score=Decimal(88),
                practical_passed=True,
                passed=True,
                feedback_rating=5,
                feedback_comment="实操部分很有用。",
            )
            colleague = User.objects.filter(username="agent").first()
            if colleague is not None:
                SessionAttendance.objects.create(
                    session=session,
                    person=colleague,
                    attended=True,
                    written_score=Decimal(58),
                    practical_passed=False,
                    passed=False,
                    feedback_rating=4,
                )
        Certification.objects.get_or_create(
            person=engineer,
            product_line=monitors,
            defaults={
                "valid_from": held_on,
                "valid_until": held_on + datetime.timedelta(days=730) - datetime.timedelta(days=1),
                "session": session,
            },
        )
    if pump is not None and distributor_engineer is not None:
        Certification.objects.get_or_create(
            person=distributor_engineer,
            device_model=pump,
            defaults={
                "valid_from": today - datetime.timedelta(days=710),
                "valid_until": today + datetime.timedelta(days=20),
            },
        )

    for title, kind, visibility, symptom, body, code in ARTICLES:
        if KnowledgeArticle.objects.filter(title=title).exists():
            continue
        published_at = timezone.now()
        article = KnowledgeArticle.objects.create(
            number=number_next(prefix="KB"),
            kind=kind,
            title=title,
            symptom=symptom,
            body=body,
            visibility=visibility,
            status=ArticleStatus.PUBLISHED,
            author=manager,
            published_at=published_at,
        )
        if monitor is not None:
            article.device_models.set([monitor])
        if code:
            article.fault_codes.set(FaultCode.objects.filter(code=code))
        KnowledgeArticleVersion.objects.create(
            article=article,
            revision=1,
            title=title,
            symptom=symptom,
            body=body,
            visibility=visibility,
            change_note="首次发布",
            published_by=manager,
            published_at=published_at,
        )

    _seed_document(today=today, manager=manager, monitor=monitor)


def _seed_document(*, today: datetime.date, manager: object, monitor: object) -> None:
    """A service manual with two versions: A/0 superseded by A/1 (approved, in force)."""
    document, created = ControlledDocument.objects.get_or_create(
        code="SM-KD-M8000",
        defaults={
            "title": "KD-M8000 多参数病人监护仪维修手册",
            "kind": DocumentKind.MANUAL,
            "owner": manager,
        },
    )
    if not created:
        return
    if monitor is not None:
        document.device_models.set([monitor])
    first_effective = today - datetime.timedelta(days=400)
    second_effective = today - datetime.timedelta(days=30)
    for label, effective, status, superseded, summary in (
        ("A/0", first_effective, DocumentVersionStatus.SUPERSEDED, second_effective, "首次发布"),
        ("A/1", second_effective, DocumentVersionStatus.APPROVED, None, "增加 V2.3.1 升级步骤"),
    ):
        version = DocumentVersion(
            document=document,
            version_label=label,
            change_summary=summary,
            status=DocumentVersionStatus.APPROVED,
            effective_on=effective,
            approved_by=manager,
        )
        version.file.save(
            f"SM-KD-M8000-{label.replace('/', '')}.txt",
            ContentFile(f"KD-M8000 维修手册 {label}\n{summary}\n".encode()),
            save=False,
        )
        version.save()
        if manager is not None:
            # Approved the way the app approves: a signature with the manager's password.
            signature_sign(
                actor=manager, record=version, meaning="批准使用", password=DEMO_PASSWORD
            )
        if status != DocumentVersionStatus.APPROVED:
            version.refresh_from_db()
            version.status, version.superseded_on = status, superseded
            version.save(update_fields=["status", "superseded_on"])
