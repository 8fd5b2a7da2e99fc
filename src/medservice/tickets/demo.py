"""Demo service requests that tell the desk's story: requests in every state, a few at risk,
one breached, a quality complaint, a regulator call, rated closures, and the service teams.

Idempotent: each demo request is keyed by its subject; a second run adds nothing. Each
request's history is replayed at believable past times (received days ago, acknowledged within
hours) by running the real services with the clock set back — the audit trail and the SLA
clocks then read as they would have in real life.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.utils import timezone

from medservice.core.demo import demo_seeder

HOUR = datetime.timedelta(hours=1)


@contextlib.contextmanager
def _at(moment: datetime.datetime) -> Iterator[None]:
    """Run services as if it were `moment` (demo history only)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@dataclass
class DemoTicket:
    """One demo request: who reported what, when, and the steps taken since (hours after
    receipt, action, inputs)."""

    subject: str
    organization: str
    kind: str
    channel: str
    received_hours_ago: float
    description: str
    contact: str = ""
    reporter: tuple[str, str] = ("", "")
    serial: str = ""
    priority: str = "normal"
    steps: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    quality: dict[str, Any] | None = None
    patient_involved: bool = False


ACK = (1.5, "acknowledge", {"note": "已电话联系报修人，告知受理编号和服务时限。"})
SCREEN = (
    2,
    "screen",
    {
        "is_complaint": True,
        "may_be_reportable": False,
        "needs_investigation": False,
        "no_investigation_reason": "操作问题，已现场指导，无需调查。",
    },
)

DEMO_TICKETS = [
    DemoTicket(
        "ICU 监护仪开机黑屏", "市第一人民医院", "repair", "phone", 2,
        "ICU 3 床监护仪开机后黑屏，指示灯亮。", contact="钱丽华", serial="KM8-2303-00101",
        priority="high",
    ),
    DemoTicket(
        "输液泵阻塞误报警", "县中医院", "repair", "phone", 5,
        "急诊科两台输液泵频繁阻塞报警，管路通畅。", contact="陆敏", serial="IP3-2402-00061",
    ),
    DemoTicket(
        "超声探头图像有条纹", "市第一人民医院", "repair", "email", 19,
        "彩超凸阵探头图像出现竖条纹。", contact="周建国", serial="HU60-2403-00007",
    ),
    DemoTicket(
        "呼吸机潮气量偏差咨询", "妇幼保健院", "question", "phone", 30,
        "新生儿科询问呼吸机潮气量校准方法。", contact="黄晓燕", serial="HV9-2401-00019",
    ),
    DemoTicket(
        "注射泵报警声音太小", "市第一人民医院", "complaint", "phone", 40,
        "护士反映注射泵报警音量太小，夜间听不到。", contact="钱丽华",
        serial="SP2-2311-00201", steps=[ACK, (20, "investigate", {"note": "查看报警音量设置"})],
    ),
    DemoTicket(
        "转运呼吸机安装培训", "市第一人民医院", "training", "portal", 50,
        "新到两台转运呼吸机，申请操作培训。", contact="周建国", serial="VT3-2407-00003",
        steps=[ACK, (6, "propose-solution", {"solution": "周四上午工程师到院培训 2 小时。"})],
    ),
    DemoTicket(
        "血糖仪读数偏高投诉", "百姓健康大药房 人民路店", "complaint", "walk_in", 70,
        "顾客反映新买血糖仪与医院检测结果相差较大。", reporter=("孙女士", "13761234567"),
        serial="KG1-2409-01011",
        steps=[
            ACK,
            (4, "propose-solution", {"solution": "用质控液校准，并换用同批试纸复测。"}),
            (
                5,
                "agree-solution",
                {"agreed_by": "孙女士", "method": "phone", "note": "顾客同意到店复测。"},
            ),
            (24, "start", {}),
        ],
    ),
    DemoTicket(
        "监护仪血压模块漏气", "县中医院", "repair", "phone", 80,
        "无创血压测量失败，袖带无漏气。", contact="沈国平", serial="KM8-2303-00141",
        steps=[
            ACK,
            (10, "propose-solution", {"solution": "更换血压模块气泵，需订购配件。"}),
            (12, "agree-solution", {"agreed_by": "沈国平", "method": "phone"}),
            (13, "start", {}),
            (14, "wait", {"reason": "parts", "note": "气泵配件从深圳发货，预计 3 天。"}),
        ],
    ),
    DemoTicket(
        "无创呼吸机面罩漏气", "县中医院", "repair", "phone", 100,
        "患者使用时面罩漏气报警。", contact="陆敏", serial="HNV2-2309-00021",
        steps=[
            ACK,
            (3, "wait", {"reason": "customer", "note": "请科室提供报警界面照片和面罩型号。"}),
        ],
    ),
    DemoTicket(
        "彩超开机自检失败", "县中医院", "repair", "phone", 120,
        "开机自检提示探头接口错误。", contact="沈国平", serial="HU60-2403-00010",
        priority="urgent",
        steps=[
            ACK,
            (3, "escalate-onsite", {"reason": "电话指导重新插拔探头无效，需工程师到场。"}),
            (20, "record-arrival", {}),
            (21, "propose-solution", {"solution": "更换探头接口板。"}),
            (21.5, "agree-solution", {"agreed_by": "沈国平", "method": "phone"}),
            (22, "start", {}),
            (
                30,
                "resolve",
                {"resolution_type": "repair", "resolution": "更换接口板，自检通过，图像正常。"},
            ),
        ],
    ),
    DemoTicket(
        "输液泵流速不准", "市第一人民医院", "complaint", "phone", 200,
        "心内科反映输液泵实际流速偏低。", contact="吴晓东", serial="IP3-2305-00041",
        steps=[
            ACK,
            SCREEN,
            (8, "propose-solution", {"solution": "现场用流速检测仪校准。"}),
            (9, "agree-solution", {"agreed_by": "吴晓东", "method": "phone"}),
            (10, "start", {}),
            (26, "resolve", {"resolution_type": "repair", "resolution": "重新校准流速，误差 <2%。"}),
            (
                30,
                "confirm",
                {"confirmed_by_name": "吴晓东", "method": "phone", "rating": 5,
                 "comment": "响应很快，工程师很专业。"},
            ),
        ],
    ),
    DemoTicket(
        "监护仪血氧读数跳动", "妇幼保健院", "repair", "portal", 300,
        "新生儿血氧探头读数不稳。", contact="黄晓燕", serial="KM8-2406-00301",
        steps=[
            ACK,
            (5, "propose-solution", {"solution": "指导更换新生儿专用血氧探头并固定。"}),
            (6, "agree-solution", {"agreed_by": "黄晓燕", "method": "phone"}),
            (6.5, "start", {}),
            (8, "resolve", {"resolution_type": "guidance", "resolution": "更换探头后读数稳定。"}),
            (
                20,
                "confirm",
                {"confirmed_by_name": "黄晓燕", "method": "paper", "rating": 4, "comment": ""},
            ),
        ],
    ),
    DemoTicket(
        "重复报修：输液架轮子", "市第一人民医院", "repair", "phone", 150,
        "输液架轮子卡滞（与前一单重复）。", contact="周建国", serial="IVS1-2404-00101",
        steps=[(1, "cancel", {"reason": "与前一单重复登记，已合并处理。"})],
    ),
    DemoTicket(
        "注射器针头脱落", "县中医院", "quality_complaint", "phone", 26,
        "护士使用 5ml 注射器时针头与针筒连接处脱落，患者未受伤。", contact="陆敏",
        patient_involved=True,
        quality={
            "complainant_sex": "female",
            "complainant_age": 34,
            "device_used": True,
            "symptoms": "无不良反应，已更换注射器。",
            "manufacturer_reported": "江苏恒泰医疗用品有限公司",
            "batch_or_serial": "20250612",
            "purchased_from": "南京康博医疗用品供应链有限公司",
            "stop_use_advised": True,
        },
        steps=[ACK],
    ),
    DemoTicket(
        "药监监督电话转来：试纸投诉", "百姓健康大药房 人民路店", "complaint", "regulator", 60,
        "区市场监管局转来顾客投诉：试纸测量值偏高。", reporter=("区市场监管局 王科员", "02161234567"),
        steps=[ACK, (2, "investigate", {"note": "该批次 250915 已冻结复核。"})],
    ),
]  # fmt: skip


def _team(name: str, region: str, usernames: list[str], manager: str) -> Any:
    from medservice.accounts.models import User
    from medservice.tickets.models import Team

    team, created = Team.objects.get_or_create(name=name, defaults={"region": region})
    if created:
        team.manager = User.objects.filter(username=manager).first()
        team.save()
        team.members.set(User.objects.filter(username__in=usernames))
    return team


@demo_seeder("service requests", order=40)
def seed_tickets() -> None:
    from medservice.accounts.models import User
    from medservice.customers.models import Contact, Organization
    from medservice.installed_base.models import Device
    from medservice.tickets.actions import action_run
    from medservice.tickets.models import Ticket
    from medservice.tickets.services import ticket_assign, ticket_register
    from medservice.tickets.sweep import sla_sweep

    east = _team("华东服务组", "上海", ["engineer", "agent"], "manager")
    _team("南京服务组", "南京", ["dist_engineer"], "manager")
    users = {user.username: user for user in User.objects.filter(is_active=True)}
    agent, manager = users.get("agent"), users.get("manager")
    if agent is None or manager is None:
        return
    now = timezone.now().replace(microsecond=0)
    for demo in DEMO_TICKETS:
        if Ticket.objects.filter(subject=demo.subject).exists():
            continue
        organization = Organization.objects.filter(name=demo.organization).first()
        if organization is None:
            continue
        contact = (
            Contact.objects.filter(organization=organization, name=demo.contact).first()
            if demo.contact
            else None
        )
        device = Device.objects.filter(serial_number=demo.serial).first() if demo.serial else None
        received = now - datetime.timedelta(hours=demo.received_hours_ago)
        data = {
            "kind": demo.kind,
            "channel": demo.channel,
            "priority": demo.priority,
            "organization": organization,
            "contact": contact,
            "reporter_name": demo.reporter[0],
            "reporter_phone": demo.reporter[1],
            "device": device if device and device.organization_id == organization.pk else None,
            "subject": demo.subject,
            "description": demo.description,
            "received_at": received,
            "patient_involved": demo.patient_involved,
        }
        with _at(received):
            ticket = ticket_register(
                actor=agent, data=data, quality=demo.quality, auto_assign=False
            )
            owner = users.get("engineer") if demo.kind == "repair" else agent
            ticket = ticket_assign(ticket=ticket, actor=manager, owner=owner, team=east)
        for hours, action, inputs in demo.steps:
            moment = received + datetime.timedelta(hours=hours)
            actor = manager if action == "wait" and inputs.get("reason") == "parts" else agent
            with _at(moment):
                ticket = action_run(action, ticket=ticket, actor=actor, data=dict(inputs))
    # The warnings and breaches the minute sweep would have recorded by now.
    sla_sweep(now=now)
