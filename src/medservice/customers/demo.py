"""Demo organisations and one user per role, with the passwords printed by `make run`."""

from __future__ import annotations

from django.contrib.auth.models import Group

from medservice.accounts.choices import Role
from medservice.accounts.models import User
from medservice.core.demo import demo_seeder
from medservice.customers.choices import OrganizationKind
from medservice.customers.models import Contact, Department, Organization

DEMO_PASSWORD = "demo-pass-2026"

ORGANIZATIONS = [
    # (key, kind, name, region, parent key)
    ("company", OrganizationKind.COMPANY, "康达医疗器械有限公司", "上海", None),
    ("branch-east", OrganizationKind.COMPANY, "康达医疗 华东分公司", "杭州", "company"),
    ("distributor", OrganizationKind.DISTRIBUTOR, "华信医疗设备经销有限公司", "南京", None),
    ("hospital-1", OrganizationKind.HOSPITAL, "市第一人民医院", "上海", None),
    ("hospital-2", OrganizationKind.HOSPITAL, "县中医院", "湖州", None),
    ("hospital-3", OrganizationKind.HOSPITAL, "妇幼保健院", "南京", None),
    ("clinic", OrganizationKind.CLINIC, "阳光社区卫生服务中心", "南京", None),
    ("chain", OrganizationKind.CHAIN_STORE, "百姓健康大药房连锁", "上海", None),
    ("store-1", OrganizationKind.STORE, "百姓健康大药房 人民路店", "上海", "chain"),
    ("own-store", OrganizationKind.COMPANY, "康达医疗 南京路体验店", "上海", "company"),
]

# The distributor serves these customers (its engineers see them and their records).
SERVED_BY_DISTRIBUTOR = ["hospital-3", "clinic"]

USERS = [
    # (username, role, family name, given name, organisation key, e-mail)
    ("admin", Role.ADMINISTRATOR, "管", "理员", "company", "admin@example.com"),
    ("manager", Role.SERVICE_MANAGER, "王", "经理", "company", "manager@example.com"),
    ("agent", Role.SERVICE_AGENT, "李", "客服", "company", "agent@example.com"),
    ("engineer", Role.FIELD_ENGINEER, "张", "工", "branch-east", "engineer@example.com"),
    ("dist_engineer", Role.DISTRIBUTOR_ENGINEER, "赵", "工", "distributor", "dist@example.com"),
    ("quality", Role.QUALITY_STAFF, "陈", "质量", "company", "quality@example.com"),
    ("qa_manager", Role.QUALITY_MANAGER, "刘", "负责人", "company", "qa@example.com"),
    ("warehouse", Role.WAREHOUSE_KEEPER, "孙", "仓管", "company", "warehouse@example.com"),
    ("finance", Role.FINANCE, "周", "财务", "company", "finance@example.com"),
    ("store", Role.STORE_STAFF, "吴", "店员", "own-store", "store@example.com"),
    ("auditor", Role.AUDITOR, "郑", "审计", "company", "auditor@example.com"),
    ("customer", Role.CUSTOMER_USER, "钱", "护士长", "hospital-1", "customer@example.com"),
    # 等保 2.0: the security and audit administrators beside the (system) administrator.
    ("secadmin", Role.SECURITY_ADMINISTRATOR, "冯", "安全员", "company", "secadmin@example.com"),
    ("auditadmin", Role.AUDIT_ADMINISTRATOR, "韩", "审计员", "company", "auditadmin@example.com"),
]
# The three administrators work in the admin site; business approvals stay with business roles.
ADMIN_SITE_ROLES = {Role.ADMINISTRATOR, Role.SECURITY_ADMINISTRATOR, Role.AUDIT_ADMINISTRATOR}


ORGANIZATION_DETAILS = {
    # name: (hospital grade, province, city, district)
    "市第一人民医院": ("3A", "上海市", "上海市", "虹口区"),
    "县中医院": ("2A", "浙江省", "湖州市", "长兴县"),
    "妇幼保健院": ("3B", "江苏省", "南京市", "鼓楼区"),
    "阳光社区卫生服务中心": ("1", "江苏省", "南京市", "玄武区"),
}

DEPARTMENTS_AND_CONTACTS = [
    # (organisation, department, contact name, role, mobile, e-mail)
    ("市第一人民医院", "设备科", "周建国", "设备科科长", "13801760231", "zhoujg@sy1.example.cn"),
    (
        "市第一人民医院",
        "重症医学科 (ICU)",
        "钱丽华",
        "护士长",
        "13916624875",
        "qianlh@sy1.example.cn",
    ),
    ("市第一人民医院", "心内科", "吴晓东", "主治医师", "13671812290", ""),
    ("县中医院", "设备科", "沈国平", "工程师", "13757208815", "shengp@zyy.example.cn"),
    ("县中医院", "急诊科", "陆敏", "护士长", "15867219904", ""),
    ("妇幼保健院", "新生儿科", "黄晓燕", "护士长", "13813895570", "huangxy@fy.example.cn"),
    ("妇幼保健院", "医学装备部", "丁伟", "主任", "13952016634", "dingw@fy.example.cn"),
    ("阳光社区卫生服务中心", "全科", "马丽", "医生", "18951703321", ""),
    ("百姓健康大药房 人民路店", "", "蒋店长", "店长", "13611987702", "store1@bxjk.example.cn"),
]


@demo_seeder("departments and contacts", order=11)
def seed_departments_and_contacts() -> None:
    for name, (grade, province, city, district) in ORGANIZATION_DETAILS.items():
        Organization.objects.filter(name=name, hospital_grade="").update(
            hospital_grade=grade, province=province, city=city, district=district
        )
    for organization_name, department_name, name, role, mobile, email in DEPARTMENTS_AND_CONTACTS:
        organization = Organization.objects.get(name=organization_name)
        department = None
        if department_name:
            department, _created = Department.objects.get_or_create(
                organization=organization, name=department_name
            )
        if Contact.objects.filter(organization=organization, name=name).exists():
            continue
        contact = Contact(
            organization=organization,
            department=department,
            name=name,
            role=role,
            mobile=mobile,
            email=email,
        )
        contact.refresh_indexes()
        contact.save()


@demo_seeder("organisations and users", order=10)
def seed_organizations_and_users() -> None:
    by_key: dict[str, Organization] = {}
    for key, kind, name, region, parent in ORGANIZATIONS:
        organization, _created = Organization.objects.get_or_create(
            name=name, defaults={"kind": kind, "region": region, "parent": by_key.get(parent or "")}
        )
        by_key[key] = organization
    distributor = by_key["distributor"]
    for key in SERVED_BY_DISTRIBUTOR:
        by_key[key].served_by.add(distributor)
    for username, role, family, given, organization_key, email in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                first_name=given,
                last_name=family,
                email=email,
                organization=by_key[organization_key],
                is_staff=role in ADMIN_SITE_ROLES,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.add(Group.objects.get(name=str(role)))
