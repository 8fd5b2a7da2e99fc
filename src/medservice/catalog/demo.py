"""Demo catalogue: manufacturers (the company among them), suppliers with their licences (one
operation permit about to expire), product lines, ~15 device models across classes I–III with
their certificates and UDI-DIs, acceptance-test templates and a fault-code tree per line.

Validity dates are relative to the day of seeding, so the demo always shows one licence and
one certificate inside the warning period whatever the year; get-or-create on natural keys
keeps a second run from adding or changing anything.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from medservice.catalog.choices import LicenceKind, ProductType, RiskClass, Tracking
from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    FaultCode,
    Manufacturer,
    ProductLine,
    Supplier,
    SupplierLicence,
)
from medservice.core.demo import demo_seeder

COMPANY = "康达医疗器械有限公司"
HUAKANG = "深圳华康生物医疗电子有限公司"
HENGTAI = "江苏恒泰医疗用品有限公司"
VITALIS = "Vitalis Medizintechnik GmbH"

MANUFACTURERS = [
    # (name, country, credit code, production permit, contact)
    (COMPANY, "中国", "91310000MA1FL3K21D", "沪药监械生产许20150012号", "质量部 021-6543 2100"),
    (HUAKANG, "中国", "91440300MA5D8R7X3K", "粤食药监械生产许20150033号", "售后部 0755-8612 3400"),
    (HENGTAI, "中国", "91320500MA1MQ8H451", "苏食药监械生产许20160078号", "质量部 0512-6652 7800"),
    (VITALIS, "德国", "", "", "service@vitalis.example.de"),
]

SUPPLIERS = [
    # (name, credit code, manufacturer, quality agreement, repairs under it, contact, phone)
    (
        "上海瑞康医疗器械贸易有限公司",
        "91310115MA1H7T6B2K",
        None,
        "QA-2024-007",
        True,
        "黄经理",
        "021-5876 3300",
    ),
    (HUAKANG, "91440300MA5D8R7X3K", HUAKANG, "QA-2023-002", True, "林工", "0755-8612 3400"),
    (
        "南京康博医疗用品供应链有限公司",
        "91320100MA1Y9K3P0K",
        None,
        "QA-2025-011",
        False,
        "顾主管",
        "025-8470 1200",
    ),
]

LICENCES = [
    # (supplier, kind, number, valid_from (days from today), valid_until (days from today))
    (
        "上海瑞康医疗器械贸易有限公司",
        LicenceKind.BUSINESS_LICENCE,
        "91310115MA1H7T6B2K",
        -2900,
        None,
    ),
    # The demo's licence about to expire: warned at 30 days, locked once it has passed.
    (
        "上海瑞康医疗器械贸易有限公司",
        LicenceKind.OPERATION_PERMIT,
        "沪药监械经营许20210045号",
        -1806,
        20,
    ),
    (HUAKANG, LicenceKind.BUSINESS_LICENCE, "91440300MA5D8R7X3K", -4300, None),
    (HUAKANG, LicenceKind.PRODUCTION_PERMIT, "粤食药监械生产许20150033号", -700, 1126),
    (
        "南京康博医疗用品供应链有限公司",
        LicenceKind.BUSINESS_LICENCE,
        "91320100MA1Y9K3P0K",
        -2200,
        None,
    ),
    (
        "南京康博医疗用品供应链有限公司",
        LicenceKind.OPERATION_PERMIT,
        "苏宁药监械经营许20220031号",
        -900,
        926,
    ),
    (
        "南京康博医疗用品供应链有限公司",
        LicenceKind.OPERATION_FILING,
        "苏宁药监械经营备20200456号",
        -1600,
        None,
    ),
    (
        "南京康博医疗用品供应链有限公司",
        LicenceKind.QUALITY_AGREEMENT,
        "QA-2025-011",
        -300,
        430,
    ),
]

MONITORS, PUMPS, VENTILATORS = "病人监护仪", "输液泵", "呼吸机"
ULTRASOUND, GLUCOSE, STERILE = "超声", "血糖仪", "一次性无菌器械"

PRODUCT_LINES = [
    (MONITORS, "医用诊察和监护器械"),
    (PUMPS, "注输、护理和防护器械"),
    (VENTILATORS, "呼吸、麻醉和急救器械"),
    (ULTRASOUND, "医用成像器械"),
    (GLUCOSE, "临床检验器械"),
    (STERILE, "注输、护理和防护器械"),
]

ACTIVE, NON_ACTIVE, IVD = ProductType.ACTIVE, ProductType.NON_ACTIVE, ProductType.IVD
I, II, III = RiskClass.CLASS_I, RiskClass.CLASS_II, RiskClass.CLASS_III  # noqa: E741
SERIAL, BATCH = Tracking.SERIAL, Tracking.BATCH

DEVICE_MODELS = [
    # (line, manufacturer, name, model/spec, class, type, certificate, valid until (days from
    #  today, None: no expiry), UDI-DI, warranty months, PM interval days, service life years,
    #  life support, single use, tracking)
    (MONITORS, COMPANY, "多参数病人监护仪", "KD-M8000", II, ACTIVE, "沪械注准20212070345", 1100,
     "06951234500016", 24, 180, 8, False, False, SERIAL),
    (MONITORS, COMPANY, "便携式病人监护仪", "KD-M5", II, ACTIVE, "沪械注准20222070412", 1400,
     "06951234500023", 24, 180, 8, False, False, SERIAL),
    # The demo's certificate inside the 60-day warning period.
    (MONITORS, HUAKANG, "多参数病人监护仪", "HK-M12", II, ACTIVE, "粤械注准20202070156", 50,
     "06934567800015", 18, 180, 8, False, False, SERIAL),
    (PUMPS, COMPANY, "输液泵", "KD-IP300", III, ACTIVE, "国械注准20213140367", 1300,
     "06951234500030", 12, 180, 8, False, False, SERIAL),
    (PUMPS, COMPANY, "注射泵", "KD-SP200", III, ACTIVE, "国械注准20223140218", 1550,
     "06951234500047", 12, 180, 8, False, False, SERIAL),
    (PUMPS, COMPANY, "医用输液架", "KD-IVS01", I, NON_ACTIVE, "沪械备20200012号", None,
     "06951234500054", 12, None, 10, False, False, SERIAL),
    (VENTILATORS, HUAKANG, "呼吸机", "HK-V900", III, ACTIVE, "国械注准20203080421", 800,
     "06934567800022", 24, 90, 10, True, False, SERIAL),
    (VENTILATORS, VITALIS, "转运呼吸机", "Vitalis T300", III, ACTIVE, "国械注进20193080112", 400,
     "04012345000016", 24, 90, 10, True, False, SERIAL),
    (VENTILATORS, HUAKANG, "无创呼吸机", "HK-NV20", II, ACTIVE, "粤械注准20212080233", 1000,
     "06934567800039", 24, 365, 8, False, False, SERIAL),
    (ULTRASOUND, HUAKANG, "彩色多普勒超声诊断系统", "HK-U60", II, ACTIVE, "粤械注准20202060189",
     700, "06934567800046", 36, 365, 10, False, False, SERIAL),
    (ULTRASOUND, HUAKANG, "便携式彩色多普勒超声诊断系统", "HK-U30", II, ACTIVE,
     "粤械注准20222060077", 1500, "06934567800053", 36, 365, 8, False, False, SERIAL),
    (GLUCOSE, COMPANY, "血糖仪", "KD-G100", II, ACTIVE, "沪械注准20202220311", 600,
     "06951234500061", 24, None, 5, False, False, SERIAL),
    (GLUCOSE, COMPANY, "血糖试纸（葡萄糖氧化酶法）", "KD-GS100 50片/盒", II, IVD,
     "沪械注准20202400288", 600, "06951234500078", 0, None, None, False, True, BATCH),
    (STERILE, HENGTAI, "一次性使用无菌注射器 带针", "5ml 0.7×32mm", III, NON_ACTIVE,
     "国械注准20203140555", 900, "06945678900013", 0, None, None, False, True, BATCH),
    (STERILE, HENGTAI, "一次性使用输液器 带针", "0.7×25mm 精密过滤", III, NON_ACTIVE,
     "国械注准20213140602", 1200, "06945678900020", 0, None, None, False, True, BATCH),
    (STERILE, HENGTAI, "一次性使用压舌板", "木质 150×18mm", I, NON_ACTIVE, "苏锡械备20190034号",
     None, "06945678900037", 0, None, None, False, True, BATCH),
]  # fmt: skip

ACCEPTANCE_TESTS = {
    # model/spec: [(check, expected, tolerance ±, unit)]; expected None: pass / fail only
    "KD-M8000": [
        ("心率（心电模拟器 60 bpm）", "60", "1", "bpm"),
        ("无创血压静态压力（200 mmHg）", "200", "3", "mmHg"),
        ("血氧饱和度（模拟器 97%）", "97", "2", "%"),
        ("体温（37.0 ℃ 恒温槽）", "37.0", "0.1", "℃"),
        ("患者漏电流（正常状态）", "0", "10", "µA"),
        ("生理与技术报警（声光）", None, None, ""),
    ],
    "HK-V900": [
        ("潮气量（设定 500 mL）", "500", "50", "mL"),
        ("呼吸频率（设定 15 次/分）", "15", "1", "次/分"),
        ("吸入氧浓度 FiO2（设定 40%）", "40", "3", "%"),
        ("呼气末正压 PEEP（设定 5 cmH2O）", "5", "1", "cmH2O"),
        ("气道压力上限报警", None, None, ""),
        ("窒息报警", None, None, ""),
        ("断电报警与内置电池切换", None, None, ""),
    ],
}

FAULT_CODES = {
    # product line: [(code, name, parent code)]
    MONITORS: [
        ("MON-01", "显示故障", None),
        ("MON-01-01", "黑屏", "MON-01"),
        ("MON-01-02", "花屏 / 闪屏", "MON-01"),
        ("MON-02", "测量异常", None),
        ("MON-02-01", "血氧无读数或读数跳动", "MON-02"),
        ("MON-02-02", "无创血压测量失败 / 漏气", "MON-02"),
        ("MON-02-03", "心电干扰大", "MON-02"),
        ("MON-03", "电源与电池", None),
        ("MON-03-01", "电池不充电", "MON-03"),
        ("MON-03-02", "无法开机", "MON-03"),
    ],
    PUMPS: [
        ("PUMP-01", "报警异常", None),
        ("PUMP-01-01", "阻塞误报警", "PUMP-01"),
        ("PUMP-01-02", "气泡报警频繁", "PUMP-01"),
        ("PUMP-02", "输注精度", None),
        ("PUMP-02-01", "流速偏差超差", "PUMP-02"),
        ("PUMP-03", "机械故障", None),
        ("PUMP-03-01", "泵门无法关闭", "PUMP-03"),
        ("PUMP-03-02", "蠕动机构异响", "PUMP-03"),
    ],
    VENTILATORS: [
        ("VENT-01", "通气参数偏差", None),
        ("VENT-01-01", "潮气量偏差超限", "VENT-01"),
        ("VENT-01-02", "PEEP 不稳定", "VENT-01"),
        ("VENT-02", "传感器故障", None),
        ("VENT-02-01", "氧浓度传感器失效", "VENT-02"),
        ("VENT-02-02", "流量传感器故障", "VENT-02"),
        ("VENT-03", "气源与电源", None),
        ("VENT-03-01", "涡轮 / 风机故障", "VENT-03"),
        ("VENT-03-02", "内置电池续航不足", "VENT-03"),
    ],
    ULTRASOUND: [
        ("US-01", "图像问题", None),
        ("US-01-01", "探头图像缺失 / 暗区", "US-01"),
        ("US-01-02", "图像噪声大", "US-01"),
        ("US-02", "系统故障", None),
        ("US-02-01", "系统死机 / 无法启动", "US-02"),
        ("US-02-02", "打印 / 存储失败", "US-02"),
    ],
    GLUCOSE: [
        ("GLU-01", "错误代码", None),
        ("GLU-01-01", "E-3 试纸已使用或受潮", "GLU-01"),
        ("GLU-01-02", "E-5 环境温度超出范围", "GLU-01"),
        ("GLU-02", "结果疑问", None),
        ("GLU-02-01", "结果与生化检验偏差大", "GLU-02"),
        ("GLU-03", "仪器故障", None),
        ("GLU-03-01", "开机无显示", "GLU-03"),
    ],
    STERILE: [
        ("SU-01", "包装问题", None),
        ("SU-01-01", "包装破损 / 密封不良", "SU-01"),
        ("SU-01-02", "标签信息错误", "SU-01"),
        ("SU-02", "产品缺陷", None),
        ("SU-02-01", "针尖毛刺 / 弯钩", "SU-02"),
        ("SU-02-02", "异物 / 污染", "SU-02"),
        ("SU-02-03", "流量调节器失灵", "SU-02"),
    ],
}


def _days(today: datetime.date, offset: int | None) -> datetime.date | None:
    return None if offset is None else today + datetime.timedelta(days=offset)


@demo_seeder("catalogue", order=20)
def seed_catalogue() -> None:
    today = timezone.localdate()
    manufacturers = {}
    for name, country, credit_code, permit, contact in MANUFACTURERS:
        manufacturers[name], _created = Manufacturer.objects.get_or_create(
            name=name,
            defaults={
                "country": country,
                "credit_code": credit_code,
                "production_permit": permit,
                "contact": contact,
            },
        )
    suppliers = {}
    for name, credit_code, manufacturer, agreement, repairs, contact, phone in SUPPLIERS:
        suppliers[name], _created = Supplier.objects.get_or_create(
            name=name,
            defaults={
                "credit_code": credit_code,
                "manufacturer": manufacturers.get(manufacturer or ""),
                "quality_agreement_reference": agreement,
                "repairs_under_agreement": repairs,
                "contact": contact,
                "phone": phone,
            },
        )
    for supplier, kind, number, valid_from, valid_until in LICENCES:
        SupplierLicence.objects.get_or_create(
            supplier=suppliers[supplier],
            kind=kind,
            number=number,
            defaults={
                "valid_from": _days(today, valid_from),
                "valid_until": _days(today, valid_until),
            },
        )
    lines = {}
    for name, category in PRODUCT_LINES:
        lines[name], _created = ProductLine.objects.get_or_create(
            name=name, defaults={"category": category}
        )
    models = {}
    for (
        line,
        manufacturer,
        name,
        model_spec,
        risk_class,
        product_type,
        certificate,
        valid_until,
        udi_di,
        warranty,
        pm_interval,
        service_life,
        life_support,
        single_use,
        tracking,
    ) in DEVICE_MODELS:
        models[model_spec], _created = DeviceModel.objects.get_or_create(
            manufacturer=manufacturers[manufacturer],
            model_spec=model_spec,
            defaults={
                "name": name,
                "product_line": lines[line],
                "risk_class": risk_class,
                "product_type": product_type,
                "registration_number": certificate,
                "registration_valid_until": _days(today, valid_until),
                "udi_di": udi_di,
                "warranty_months": warranty,
                "pm_interval_days": pm_interval,
                "service_life_years": service_life,
                "life_support": life_support,
                "implantable": False,
                "single_use": single_use,
                "tracking": tracking,
            },
        )
    for model_spec, checks in ACCEPTANCE_TESTS.items():
        for position, (name, expected, tolerance, unit) in enumerate(checks, start=1):
            AcceptanceTestItem.objects.get_or_create(
                device_model=models[model_spec],
                name=name,
                defaults={
                    "position": position,
                    "expected_value": Decimal(expected) if expected else None,
                    "tolerance": Decimal(tolerance) if tolerance else None,
                    "unit": unit,
                    "pass_fail_only": expected is None,
                },
            )
    for line, codes in FAULT_CODES.items():
        by_code: dict[str, FaultCode] = {}
        for code, name, parent in codes:
            by_code[code], _created = FaultCode.objects.get_or_create(
                product_line=lines[line],
                code=code,
                defaults={"name": name, "parent": by_code.get(parent or "")},
            )
