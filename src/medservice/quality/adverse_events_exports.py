"""The adverse-event report laid out like the national form (可疑医疗器械不良事件报告表), as a PDF
(WeasyPrint, Noto CJK) and as an XLSX sheet.

The form is a Chinese regulatory document: its labels and the words of its tick boxes are the
form's own fixed wording, printed in Chinese whatever the user's language (like a government
template), so they are literals here and not translatable UI strings.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone, translation

from medservice.quality.models import AdverseEventReport

FORM_TITLE = "可疑医疗器械不良事件报告表"

# The form's words for the stored choices.
CHOICE_WORDS: dict[str, dict[str, str]] = {
    "kind": {"initial": "首次报告", "follow_up": "跟踪报告", "final": "最终报告"},
    "market": {"CN": "中国", "US": "美国", "EU": "欧盟"},
    "outcome": {"death": "死亡", "serious_injury": "严重伤害", "other": "其他"},
    "product_type": {"active": "有源", "non_active": "无源", "ivd": "体外诊断试剂"},
    "origin": {"domestic": "境内", "imported": "进口"},
    "risk_class": {"I": "Ⅰ类", "II": "Ⅱ类", "III": "Ⅲ类"},
    "patient_sex": {"female": "女", "male": "男", "unknown": "未知"},
    "place_of_use": {"institution": "医疗机构", "home": "家庭", "other": "其他"},
    "relatedness": {"related": "相关", "unrelated": "不相关", "cannot_tell": "无法确定"},
    "submission_channel": {
        "online": "国家医疗器械不良事件监测信息系统", "phone": "电话", "fax": "传真",
        "email": "电子邮件", "fda_esubmitter": "FDA eSubmitter", "eudamed": "EUDAMED/主管当局",
        "letter": "信函", "other": "其他",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]]


def _word(report: AdverseEventReport, name: str) -> str:
    value = getattr(report, name)
    return CHOICE_WORDS[name].get(value, value or "")


def _when(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _personal(value: str, unmask: bool) -> str:
    if unmask or not value:
        return value
    return "***"


def form_sections(report: AdverseEventReport, *, unmask: bool) -> list[Section]:
    """The form's sections and rows (label, value) in the order of the national form.
    Patient data is printed only for users who may see it."""
    return [
        Section("报告信息", [
            ("报告编码", report.number),
            ("报告类型", _word(report, "kind")),
            ("报告日期", _day(timezone.localdate(report.submitted_at)) if report.submitted_at
             else ""),
            ("上报地区", _word(report, "market")),
            ("适用时限", f"{report.rule.code} {report.rule.description}" if report.rule else ""),
            ("应报告时间", _when(report.report_due_at)),
        ]),
        Section("一、报告单位信息", [
            ("报告单位名称", report.reporter_unit),
            ("联系地址", report.reporter_address),
            ("联系人", report.reporter_contact),
            ("联系电话", report.reporter_phone),
            ("发生地", "境外" if report.event_abroad else "境内"),
        ]),
        Section("二、医疗器械情况", [
            ("产品名称", report.device_name),
            ("注册证编号", report.registration_number),
            ("型号规格", report.model_spec),
            ("产品类别", _word(report, "product_type")),
            ("境内/进口", _word(report, "origin")),
            ("管理类别", _word(report, "risk_class")),
            ("产品批号", report.batch_number),
            ("产品编号", report.serial_number),
            ("UDI", report.udi),
            ("生产日期", _day(report.production_date)),
            ("有效期至", _day(report.expiry_date)),
        ]),
        Section("三、不良事件情况", [
            ("事件发生日期", _day(report.event_date)),
            ("发现或获知日期", _when(report.awareness_at)),
            ("伤害", _word(report, "outcome")),
            ("群体不良事件", _yes_no(report.group_event)),
            ("伤害表现", report.harm_description),
            ("患者姓名", _personal(report.patient_name, unmask)),
            ("年龄", "" if report.patient_age is None else str(report.patient_age)),
            ("性别", _word(report, "patient_sex")),
            ("病历号", _personal(report.patient_record_number, unmask)),
            ("既往病史", _personal(report.patient_history, unmask)),
            ("器械故障表现", report.malfunction_description),
        ]),
        Section("四、使用情况", [
            ("预期治疗疾病或作用", report.intended_use),
            ("使用场所", _word(report, "place_of_use")),
            ("使用过程", report.usage_description),
            ("合并用药/械情况说明", report.concomitant_products),
        ]),
        Section("五、事件调查与评价", [
            ("现场调查及结果", report.onsite_investigation),
            ("产品是否检测", _yes_no(report.product_tested)),
            ("检测报告", report.test_report),
            ("原因分析及结论", report.cause_conclusion),
            ("关联性评价", _word(report, "relatedness")),
            ("风险评价", report.risk_evaluation),
            ("控制措施", report.control_measures),
            ("未采取控制措施的原因", report.no_measures_reason),
        ]),
        Section("六、提交情况", [
            ("提交时间", _when(report.submitted_at)),
            ("提交途径", _word(report, "submission_channel")),
            ("受理编号", report.submission_reference),
            ("提交人", (report.submitted_by.get_full_name() or report.submitted_by.get_username())
             if report.submitted_by_id else ""),
            ("首次报告编码", report.initial.number if report.initial_id else ""),
        ]),
    ]  # fmt: skip


def report_pdf(report: AdverseEventReport, *, unmask: bool) -> bytes:
    """The report as the printed national form (A4)."""
    from weasyprint import HTML

    with translation.override("zh-hans"):
        html = render_to_string(
            "quality/adverse_events_pdf.html",
            {
                "title": FORM_TITLE,
                "report": report,
                "sections": form_sections(report, unmask=unmask),
                "printed_at": _when(timezone.now()),
            },
        )
    return HTML(string=html).write_pdf()


def report_xlsx(report: AdverseEventReport, *, unmask: bool) -> bytes:
    """The report as a sheet laid out like the form: the title, then per section a heading row
    and label | value rows (column A the label, column B the value)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "不良事件报告"
    sheet.append([FORM_TITLE])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells("A1:B1")
    for section in form_sections(report, unmask=unmask):
        sheet.append([section.title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        for label, value in section.rows:
            # Typed text stays text: a value starting with "=" is never a formula.
            # Control characters pasted into a text field cannot be stored in a sheet.
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            sheet.append([label, value])
            cell = sheet.cell(row=sheet.max_row, column=2)
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 70
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def report_filename(report: AdverseEventReport, extension: str) -> str:
    return f"{report.number}.{extension}"
