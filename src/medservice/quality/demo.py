"""Demo quality records that tell the quality department's story: the syringe complaint from
the desk turned into its case (complainant called back within the day, retained samples
tested, the supplier told and acknowledging); a monitor that missed an arrhythmia alarm on a
patient, decided a reportable adverse event by the quality manager, its report a draft due in
two days; a class II recall of a ventilator batch delivered to two hospitals, signed, notices
sent by e-mail and letter, one hospital acknowledging, one unit corrected on site; and the
corrective CAPA of that defect with two actions, one done.

Idempotent: the syringe case hangs on its request and each step checks its own record; the
other two stories are keyed by their case's description, so a second run adds nothing. The
history is replayed at believable past times by running the real services with the clock set
back, so the clocks (contact, AE report, recall notices and filing) read as in real life."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any
from unittest import mock

from django.test.utils import override_settings
from django.utils import timezone

from medservice.core.demo import demo_seeder

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)

SYRINGE_SUBJECT = "注射器针头脱落"
SYRINGE_SUPPLIER = "南京康博医疗用品供应链有限公司"
HUAKANG = "深圳华康生物医疗电子有限公司"

AE_SERIAL = "HM12-2405-00055"
AE_DESCRIPTION = (
    "心内科 5 床患者监护期间发生室颤，监护仪未触发心律失常报警，护士约 6 分钟后巡视发现，"
    "经除颤抢救后恢复窦性心律，转入 ICU 观察。"
)
RECALL_SERIAL = "HV9-2401-00012"
RECALL_DESCRIPTION = (
    "ICU 呼吸机（HK-V900，批次 2401）潮气量监测值与外接标准流量计比对偏差约 18%，"
    "超出 ±15% 的规格要求。"
)


@contextlib.contextmanager
def _at(moment: datetime.datetime) -> Iterator[None]:
    """Run services as if it were `moment` (demo history only)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@demo_seeder("quality", order=50)
def seed_quality() -> None:
    from medservice.accounts.models import User

    users = {user.username: user for user in User.objects.filter(is_active=True)}
    staff, manager = users.get("quality"), users.get("qa_manager")
    if staff is None or manager is None:
        return
    now = timezone.now().replace(microsecond=0)
    _syringe_complaint(staff=staff, now=now)
    _monitor_adverse_event(staff=staff, manager=manager, now=now)
    _ventilator_recall(staff=staff, manager=manager, engineer=users.get("engineer"), now=now)
    # The warnings the periodic jobs would have recorded by now (each once: safe to rerun).
    from medservice.quality.adverse_events import report_clock_sweep
    from medservice.quality.recalls import recall_deadline_sweep

    report_clock_sweep(now=now)
    recall_deadline_sweep(now=now)


def _supplier(name: str) -> Any:
    from medservice.catalog.models import Supplier

    return Supplier.objects.filter(name=name).first()


def _send_and_acknowledge(
    *,
    staff: Any,
    notice: Any,
    sent_at: datetime.datetime,
    sent_to: str,
    acknowledged_at: datetime.datetime | None,
    acknowledged_by: str = "",
    supplier: Any = None,
) -> Any:
    """Record a supplier or manufacturer notice as e-mailed and, if given, acknowledged."""
    from medservice.quality.choices import NoticeChannel, NoticeRecipient, NoticeStatus
    from medservice.quality.decisions import notice_acknowledge, notice_send

    if notice.status == NoticeStatus.DRAFT:
        to_supplier = notice.recipient_kind == NoticeRecipient.SUPPLIER
        if to_supplier and notice.supplier_id is None and supplier is None:
            return notice  # no known supplier: the gap shows on the notice
        recipient = {"supplier": supplier} if to_supplier and supplier is not None else {}
        with _at(sent_at):
            notice = notice_send(
                actor=staff, notice=notice, channel=NoticeChannel.EMAIL, sent_to=sent_to,
                **recipient,
            )  # fmt: skip
    if notice.status == NoticeStatus.SENT and acknowledged_at is not None:
        with _at(acknowledged_at):
            notice = notice_acknowledge(
                actor=staff, notice=notice, acknowledged_by_name=acknowledged_by
            )
    return notice


def _syringe_complaint(*, staff: Any, now: datetime.datetime) -> None:
    """The desk's quality complaint (a needle came off a syringe): its case, the call back
    within SOP-3's 24 hours, a test of the retained samples, the supplier told and
    acknowledging. Each step checks its own record, whoever opened the case."""
    from medservice.quality.choices import InvestigationKind, NoticeReason
    from medservice.quality.decisions import investigation_record
    from medservice.quality.services import case_open_from_ticket, case_record_contact
    from medservice.tickets.models import Ticket

    ticket = Ticket.objects.filter(subject=SYRINGE_SUBJECT).first()
    if ticket is None:
        return
    received = ticket.received_at
    # The request's own flag opens the case after commit; the seed runs in one transaction.
    with _at(min(received + HOUR / 4, now)):
        case = case_open_from_ticket(ticket=ticket)
    if case is None:
        return
    if case.contacted_at is None:
        contacted = received + 3 * HOUR
        with _at(contacted):
            case = case_record_contact(
                actor=staff, case=case, at=contacted,
                note="已电话回访陆敏护士长：患者未受伤，已停用同批次注射器并封存 3 支样品待取回。",
            )  # fmt: skip
    notice = case.supplier_notices.filter(reason=NoticeReason.CASE_OPENED).order_by("pk").first()
    if notice is not None:
        _send_and_acknowledge(
            staff=staff, notice=notice, sent_at=received + 4 * HOUR,
            sent_to="quality@kangbo.example.cn", supplier=_supplier(SYRINGE_SUPPLIER),
            acknowledged_at=min(received + 22 * HOUR, now - HOUR), acknowledged_by="顾主管",
        )  # fmt: skip
    if not case.investigation_entries.exists():
        tested = min(received + 20 * HOUR, now - 2 * HOUR)
        with _at(tested):
            investigation_record(
                actor=staff, case=case, kind=InvestigationKind.TEST,
                performed_on=timezone.localdate(tested),
                activity="取同批次（20250612）留样 20 支，按 GB 15810 做针座与针管连接牢固度拉脱力测试。",
                findings="20 支均达标（最小 32 N，标准 ≥ 22 N）；待取回投诉样品做进一步检查。",
            )  # fmt: skip


def _device(serial: str) -> Any:
    from medservice.installed_base.models import Device

    return (
        Device.objects.filter(serial_number=serial)
        .select_related("device_model", "organization")
        .first()
    )


def _contact(organization: Any, name: str) -> Any:
    from medservice.customers.models import Contact

    return Contact.objects.filter(organization=organization, name=name).first()


def _monitor_adverse_event(*, staff: Any, manager: Any, now: datetime.datetime) -> None:
    """A monitor missed a ventricular fibrillation alarm: a serious injury, decided a reportable
    adverse event (China) eight days later; the report (20 days from awareness, CN-AE-2) is a
    draft due in about two days, so its clock warns."""
    from medservice.customers.demo import DEMO_PASSWORD
    from medservice.quality.adverse_events import report_update
    from medservice.quality.choices import (
        DecisionOutcome,
        Harm,
        InvestigationKind,
        Market,
        NoticeReason,
        NoticeRecipient,
        PlaceOfUse,
        Relatedness,
    )
    from medservice.quality.decisions import case_decide, investigation_record
    from medservice.quality.models import AdverseEventReport, QualityCase
    from medservice.quality.services import case_create, case_record_contact

    if QualityCase.objects.filter(description=AE_DESCRIPTION).exists():
        return
    device = _device(AE_SERIAL)
    if device is None:
        return
    contact = _contact(device.organization, "吴晓东")
    local = timezone.localtime(now)
    aware = (local - 18 * DAY).replace(hour=10, minute=30, second=0)
    with _at(aware + HOUR / 2):
        case = case_create(
            actor=staff,
            data={
                "awareness_at": aware,
                "device": device,
                "organization": device.organization,
                "description": AE_DESCRIPTION,
                "complainant_name": contact.name if contact else "吴晓东",
                "complainant_phone": contact.mobile if contact else "",
                "device_used": True,
                "patient_involved": True,
                "injury": True,
                "symptoms": "室颤约 6 分钟未被发现，除颤 2 次后恢复，转入 ICU 观察 48 小时后转回普通病房。",
                "stop_use_advised": True,
                "stop_use_advised_at": aware + HOUR / 2,
            },
        )
    with _at(aware + 2 * HOUR):
        case = case_record_contact(
            actor=staff, case=case,
            note="已与吴晓东医师通话：设备已停用并贴封存标签，报警设置截图与事件前后 2 小时数据已导出。",
        )  # fmt: skip
    notice = case.supplier_notices.filter(reason=NoticeReason.CASE_OPENED).order_by("pk").first()
    if notice is not None:
        _send_and_acknowledge(
            staff=staff, notice=notice, sent_at=aware + 3 * HOUR,
            sent_to="service@huakang.example.cn", acknowledged_at=aware + DAY,
            acknowledged_by="华康 林工",
        )  # fmt: skip
    for days, kind, activity, findings in (
        (1, InvestigationKind.SITE_VISIT, "到心内科现场查看设备、报警设置和事件日志。",
         "心律失常报警处于开启状态，报警级别为高；日志显示室颤发生时 ECG 分析模块重启约 7 分钟。"),
        (5, InvestigationKind.INSPECTION, "设备封存后由华康工程师在场，读取主板日志并复现。",
         "ECG 分析模块在导联脱落与重新连接交替出现时偶发重启，重启期间不产生心律失常报警。"),
    ):  # fmt: skip
        day = aware + days * DAY
        with _at(day + 6 * HOUR):
            investigation_record(
                actor=staff, case=case, kind=kind, performed_on=timezone.localdate(day),
                activity=activity, findings=findings,
            )  # fmt: skip
    decided = aware + 8 * DAY + 5 * HOUR
    with _at(decided):
        decision = case_decide(
            actor=manager, case=case, outcome=DecisionOutcome.REPORTABLE_AE,
            rationale="监护仪在使用中未能发出室颤报警，导致抢救延误，患者需转入 ICU：属严重伤害，"
                      "按 CN-AE-2 于 20 日内报告，并告知注册人（华康）。",
            password=DEMO_PASSWORD, markets=[Market.CN], reportable_markets=[Market.CN],
            harm=Harm.SERIOUS_INJURY,
        )  # fmt: skip
    manufacturer_notice = (
        decision.case.supplier_notices.filter(
            reason=NoticeReason.ADVERSE_EVENT, recipient_kind=NoticeRecipient.MANUFACTURER
        )
        .order_by("pk")
        .first()
    )
    if manufacturer_notice is not None:
        _send_and_acknowledge(
            staff=staff, notice=manufacturer_notice, sent_at=decided + HOUR,
            sent_to="service@huakang.example.cn", acknowledged_at=None,
        )  # fmt: skip
    report = AdverseEventReport.objects.filter(quality_case=case, market=Market.CN).first()
    if report is not None:
        with _at(decided + DAY):
            report_update(
                actor=staff, instance=report,
                data={
                    "patient_age": 67, "patient_sex": "male",
                    "patient_history": "冠心病，陈旧性心肌梗死。",
                    "intended_use": "对成人患者进行心电、血压、血氧等多参数监护。",
                    "place_of_use": PlaceOfUse.INSTITUTION,
                    "usage_description": "心内科病房床旁连续监护，导联为 5 导联。",
                    "onsite_investigation": "现场查看及封存设备检测：ECG 分析模块偶发重启，"
                                            "重启期间无心律失常报警。",
                    "relatedness": Relatedness.RELATED,
                    "control_measures": "涉事设备封存；同型号在用设备已通知临床加强巡视，"
                                        "待注册人确认软件修复方案。",
                },
            )  # fmt: skip


def _ventilator_recall(*, staff: Any, manager: Any, engineer: Any, now: datetime.datetime) -> None:
    """A ventilator batch whose tidal-volume monitoring drifts: the case decided a product defect
    (which opens the corrective CAPA), a class II recall of batch 2401 decided and signed, the
    two hospitals holding it told (e-mail, letter), one acknowledging with quantities, one unit
    corrected on site (its recall work order), the filing recorded; the CAPA's root cause and two
    actions, one done."""
    from medservice.customers.demo import DEMO_PASSWORD
    from medservice.quality.capa import (
        capa_add_action,
        capa_complete_action,
        capa_record_root_cause,
        capas_of_source,
    )
    from medservice.quality.choices import (
        DecisionOutcome,
        Disposition,
        InvestigationKind,
        Market,
        NoticeReason,
        RecallClass,
        RecallHandling,
        RecallKind,
        RecallNoticeChannel,
        RootCauseMethod,
    )
    from medservice.quality.decisions import case_decide, investigation_record
    from medservice.quality.models import QualityCase, RecallDevice, RecallRecipient
    from medservice.quality.recalls import (
        recall_acknowledge,
        recall_create,
        recall_decide,
        recall_device_dispose,
        recall_notice_send,
        recall_record_filing,
    )
    from medservice.quality.services import case_create, case_record_contact

    if QualityCase.objects.filter(description=RECALL_DESCRIPTION).exists():
        return
    device = _device(RECALL_SERIAL)
    if device is None:
        return
    contact = _contact(device.organization, "钱丽华")
    local = timezone.localtime(now)
    aware = (local - 12 * DAY).replace(hour=9, minute=15, second=0)
    with _at(aware + HOUR):
        case = case_create(
            actor=staff,
            data={
                "awareness_at": aware,
                "device": device,
                "organization": device.organization,
                "description": RECALL_DESCRIPTION,
                "complainant_name": contact.name if contact else "钱丽华",
                "complainant_phone": contact.mobile if contact else "",
                "device_used": True,
                "patient_involved": False,
            },
        )
    with _at(aware + 3 * HOUR):
        case = case_record_contact(
            actor=staff, case=case,
            note="已联系钱丽华护士长：偏差在例行比对中发现，无患者受影响；该机已换用备用呼吸机。",
        )  # fmt: skip
    for days, kind, activity, findings in (
        (2, InvestigationKind.TEST, "对同批次 3 台库存机和该机做流量传感器标定测试。",
         "4 台中 3 台潮气量偏差超过 ±15%（16%–19%），均为 2401 批次。"),
        (4, InvestigationKind.RECORD_REVIEW, "核查 2401 批次生产和来料记录。",
         "该批次流量传感器更换了供应商，软件中的标定系数未随之更新。"),
    ):  # fmt: skip
        day = aware + days * DAY
        with _at(day + 5 * HOUR):
            investigation_record(
                actor=staff, case=case, kind=kind, performed_on=timezone.localdate(day),
                activity=activity, findings=findings,
            )  # fmt: skip
    decided = aware + 5 * DAY + 2 * HOUR
    with _at(decided):
        case_decide(
            actor=manager, case=case, outcome=DecisionOutcome.PRODUCT_DEFECT,
            rationale="2401 批次流量传感器标定系数错误，潮气量监测偏差超出规格，属产品缺陷；"
                      "通知供货者和生产企业，启动纠正措施并召回该批次。",
            password=DEMO_PASSWORD, markets=[Market.CN],
        )  # fmt: skip
    # Huakang (supplier and manufacturer) told of the complaint, then of the defect.
    for notice in case.supplier_notices.order_by("pk"):
        opened = notice.reason == NoticeReason.CASE_OPENED
        sent = aware + 4 * HOUR if opened else decided + HOUR
        _send_and_acknowledge(
            staff=staff, notice=notice, sent_at=sent, sent_to="service@huakang.example.cn",
            acknowledged_at=sent + (DAY if opened else 5 * HOUR), acknowledged_by="华康 林工",
        )  # fmt: skip
    with _at(decided + 2 * HOUR):
        recall = recall_create(
            actor=staff,
            data={
                "kind": RecallKind.RECALL, "quality_case": case,
                "recall_class": RecallClass.CLASS_II, "handling": RecallHandling.REPAIR,
                "reason": "2401 批次呼吸机流量传感器标定系数错误，潮气量监测值偏差可能超过 ±15%。",
                "instructions": "请立即核对在用 HK-V900 呼吸机序列号，2401 批次设备在完成现场校正前"
                                "改用其他呼吸机；我司工程师将上门升级软件并重新标定。",
                "responsible_phone": "021-65432100",
            },
        )  # fmt: skip
    signed = aware + 6 * DAY
    with _at(signed):
        recall = recall_decide(actor=manager, recall=recall, password=DEMO_PASSWORD)
    recipients = list(
        RecallRecipient.objects.filter(recall=recall)
        .select_related("organization", "contact")
        .order_by("pk")
    )
    first = next((r for r in recipients if r.organization_id == device.organization_id), None)
    others = [r for r in recipients if r is not first]
    # The demo replays notices sent days ago: none goes out again now.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        if first is not None:
            channel = (
                RecallNoticeChannel.EMAIL
                if first.contact and first.contact.email
                else RecallNoticeChannel.LETTER
            )
            with _at(signed + 3 * HOUR):
                recall_notice_send(actor=staff, recipient=first, channel=channel)
        for number, recipient in enumerate(others):
            with _at(signed + DAY + number * HOUR):
                recall_notice_send(
                    actor=staff, recipient=recipient, channel=RecallNoticeChannel.LETTER
                )
    if first is not None:
        with _at(signed + 2 * DAY + 8 * HOUR):
            recall_acknowledge(
                actor=staff, recipient=first,
                acknowledged_by_name=first.contact.name if first.contact else "设备科",
                quantity_held=first.quantity_delivered - 1, quantity_corrected=1,
                note="在用设备已全部停用并贴标识，备用机已启用；1 台已由工程师现场校正。",
            )  # fmt: skip
        entry = (
            RecallDevice.objects.filter(recall=recall, device=device).first()
            or RecallDevice.objects.filter(recall=recall, recipient=first).order_by("pk").first()
        )
        if entry is not None:
            with _at(signed + 2 * DAY + 5 * HOUR):
                recall_device_dispose(
                    actor=staff, entry=entry, disposition=Disposition.CORRECTED_ON_SITE,
                    note="软件升级至 V2.1.3 并重新标定流量传感器，潮气量偏差 2.1%。",
                )  # fmt: skip
    with _at(signed + 3 * DAY):
        recall_record_filing(
            actor=manager, recall=recall, filed_at=signed + 3 * DAY,
            reference=f"沪药监械召回备 {signed:%Y}-017",
        )  # fmt: skip
    capa = capas_of_source(case).order_by("pk").first()
    if capa is None:
        return
    with _at(signed + HOUR):
        capa = capa_record_root_cause(
            actor=staff, capa=capa, method=RootCauseMethod.FIVE_WHYS,
            root_cause="流量传感器更换供应商后，变更评审未覆盖软件标定系数，来料检验也未核对该系数。",
        )  # fmt: skip
        software = capa_add_action(
            actor=staff, capa=capa, owner=engineer or staff,
            description="发布软件 V2.1.3（更新流量传感器标定系数）并完成验证与现场升级作业指导书。",
            due_on=timezone.localdate(signed + 5 * DAY),
        )  # fmt: skip
        capa_add_action(
            actor=staff, capa=capa, owner=staff,
            description="修订来料检验规程和变更评审表：关键传感器换供应商时核对软件标定系数。",
            due_on=timezone.localdate(now + 20 * DAY),
        )  # fmt: skip
    with _at(signed + 2 * DAY):
        capa_complete_action(
            actor=staff, action=software,
            evidence_note="软件包 V2.1.3 已发布，升级与标定作业指导书 WI-HV9-017 已下发。",
        )  # fmt: skip
