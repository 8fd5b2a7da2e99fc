"""Demo stores' books and correspondence: the chain pharmacy 百姓健康大药房 and its 人民路店 with
their published phones, a store manager who keeps the opinion book (yesterday reviewed, the day
before missed), three entries (one answered, one about a glucose meter's readings that became
a quality case), the out-of-stock register (one waiting, one fulfilled) and two pieces of
correspondence with 市第一人民医院 about its monitors.

Idempotent: profiles by store, entries and letters by their text, the user by name; a second
run adds nothing. Entries, cases and letters go through the real services."""

from __future__ import annotations

import datetime

from django.utils import timezone

from medservice.core.demo import demo_seeder

STORE_NAME = "百姓健康大药房 人民路店"
CHAIN_NAME = "百姓健康大药房连锁"
QUALITY_ENTRY = "KD-G100 血糖仪同一滴血测两次相差 3 mmol/L 以上，担心读数不准，要求检查。"
ANSWERED_ENTRY = "店员讲解血压计用法很耐心，希望周末多安排一位店员。"
PRODUCT_ENTRY = "希望店里能备更多规格的一次性无菌注射器。"
WAITING_PRODUCT = "血糖试纸 KD-GS100 50片/盒"
LETTER_SUBJECT = "关于多参数病人监护仪 KD-M8000 报警音量的函"
EMAIL_SUBJECT = "回复：KD-M8000 年度保养安排"
OWN_SHOP_NAME = "康达医疗 南京路体验店"
OWN_SHOP_ENTRY = "希望能在店内试用血压计后再购买。"


@demo_seeder("stores and correspondence", order=60)
def seed_stores() -> None:
    from django.contrib.auth.models import Group

    from medservice.accounts.choices import Role
    from medservice.accounts.models import User
    from medservice.catalog.models import DeviceModel
    from medservice.customers.models import Organization
    from medservice.feedback.choices import (
        LetterDirection,
        LetterKind,
        OpinionCategory,
        ShortageStatus,
    )
    from medservice.feedback.models import (
        Letter,
        MissedReview,
        OpinionBookReview,
        OpinionEntry,
        ShortageEntry,
        StoreProfile,
    )
    from medservice.feedback.services_correspondence import letter_create
    from medservice.feedback.services_stores import (
        opinion_entry_create,
        review_deadline,
        shortage_close,
        shortage_entry_create,
        store_day,
        store_profile_create,
    )

    store = Organization.objects.filter(name=STORE_NAME).first()
    chain = Organization.objects.filter(name=CHAIN_NAME).first()
    if store is None or chain is None:
        return
    manager = User.objects.filter(username="store_renmin").first()
    if manager is None:
        from medservice.customers.demo import DEMO_PASSWORD

        manager = User(
            username="store_renmin", first_name="店长", last_name="蒋", organization=store,
            email="store1@bxjk.example.cn",
        )  # fmt: skip
        manager.set_password(DEMO_PASSWORD)
        manager.save()
    manager.groups.add(Group.objects.get(name=str(Role.STORE_STAFF)))
    quality = User.objects.filter(username="quality").first()

    if not StoreProfile.objects.filter(store=chain).exists():
        store_profile_create(actor=None, data={
            "store": chain, "regulator_name": "上海市市场监督管理局",
            "supervision_phone": "12315", "store_complaint_phone": "400-820-1234",
        })  # fmt: skip
    # The company's own shop keeps its books too (its staff are internal: the demo user "store").
    own_shop = Organization.objects.filter(name=OWN_SHOP_NAME).first()
    own_staff = User.objects.filter(username="store").first()
    if own_shop is not None and not StoreProfile.objects.filter(store=own_shop).exists():
        store_profile_create(actor=None, data={
            "store": own_shop, "regulator_name": "上海市黄浦区市场监督管理局",
            "supervision_phone": "021-12315", "store_complaint_phone": "021-6350-1200",
            "head_office_complaint_phone": "400-820-8888", "closes_at": datetime.time(20, 0),
            "manager": own_staff, "quality_person": quality,
        })  # fmt: skip
    if own_shop is not None and not OpinionEntry.objects.filter(store=own_shop).exists():
        opinion_entry_create(actor=own_staff, data={
            "store": own_shop, "entry_date": store_day(timezone.now()),
            "category": OpinionCategory.SERVICE, "content": OWN_SHOP_ENTRY,
            "customer_name": "周先生", "customer_phone": "13761234567",
            "answer": "已在收银台旁增加血压计试用区。",
        })  # fmt: skip
    profile = StoreProfile.objects.filter(store=store).first()
    if profile is None:
        profile = store_profile_create(actor=None, data={
            "store": store, "regulator_name": "上海市黄浦区市场监督管理局",
            "supervision_phone": "021-12315", "store_complaint_phone": "021-6321-0088",
            "head_office_complaint_phone": "400-820-1234",
            "closes_at": datetime.time(21, 0), "manager": manager,
        })  # fmt: skip

    today = store_day(timezone.now())
    meter = DeviceModel.objects.filter(model_spec="KD-G100").first()
    entries = [
        (ANSWERED_ENTRY, OpinionCategory.SERVICE, today - datetime.timedelta(days=3),
         "已安排周六、周日各增加一名店员，谢谢您的建议。", None),
        (PRODUCT_ENTRY, OpinionCategory.PRODUCT, today - datetime.timedelta(days=2), "", None),
        (QUALITY_ENTRY, OpinionCategory.QUALITY_SAFETY, today - datetime.timedelta(days=1), "",
         meter),
    ]  # fmt: skip
    for content, category, day, answer, model in entries:
        if OpinionEntry.objects.filter(store=store, content=content).exists():
            continue
        opinion_entry_create(actor=manager, data={
            "store": store, "entry_date": day, "category": category, "content": content,
            "customer_name": "刘女士", "customer_phone": "13918807766", "answer": answer,
            "device_model": model, "batch_number": "G2605-0317" if model else "",
            "product_text": "血糖仪 KD-G100" if model else "",
        })  # fmt: skip

    # The book's history: reviewed yesterday (a quality problem found), missed the day before.
    yesterday = today - datetime.timedelta(days=1)
    if not OpinionBookReview.objects.filter(store=store, day=yesterday).exists():
        OpinionBookReview.objects.create(
            store=store, day=yesterday,
            reviewed_at=review_deadline(profile, yesterday) - datetime.timedelta(hours=1),
            reviewed_by=quality or manager,
            findings="发现一条血糖仪读数不准的意见，已转质量管理部立案。",
            quality_safety_found=True,
        )  # fmt: skip
    before = today - datetime.timedelta(days=2)
    if not MissedReview.objects.filter(store=store, day=before).exists():
        deadline = review_deadline(profile, before)
        MissedReview.objects.create(
            store=store, day=before, deadline=deadline,
            recorded_at=deadline + datetime.timedelta(minutes=10), notified=str(manager),
        )  # fmt: skip

    strips = DeviceModel.objects.filter(model_spec__startswith="KD-GS100").first()
    if not ShortageEntry.objects.filter(store=store, product_text=WAITING_PRODUCT).exists():
        shortage_entry_create(actor=manager, data={
            "store": store, "requested_on": yesterday, "device_model": strips,
            "product_text": WAITING_PRODUCT, "quantity": 2, "customer_name": "王先生",
            "customer_phone": "13761234567",
        })  # fmt: skip
    if not ShortageEntry.objects.filter(store=store, product_text="电子体温计 KD-T10").exists():
        entry = shortage_entry_create(actor=manager, data={
            "store": store, "requested_on": today - datetime.timedelta(days=6),
            "product_text": "电子体温计 KD-T10", "quantity": 1, "customer_name": "赵阿姨",
            "customer_phone": "13601987654",
        })  # fmt: skip
        shortage_close(actor=manager, entry=entry, status=ShortageStatus.FULFILLED,
                       note="到货后电话通知，顾客已取货。")  # fmt: skip

    hospital = Organization.objects.filter(name="市第一人民医院").first()
    monitor = DeviceModel.objects.filter(model_spec="KD-M8000").first()
    agent = User.objects.filter(username="agent").first()
    if hospital is not None and not Letter.objects.filter(subject=LETTER_SUBJECT).exists():
        letter_create(actor=agent, data={
            "kind": LetterKind.LETTER, "direction": LetterDirection.INCOMING,
            "letter_date": today - datetime.timedelta(days=12), "subject": LETTER_SUBJECT,
            "organization": hospital, "counterpart": "市第一人民医院 设备科",
            "their_reference": "一院设〔2026〕18号", "device_model": monitor,
            "summary": "ICU 反映夜间报警音量最低档仍偏大，询问能否调低或升级软件。",
        })  # fmt: skip
    if hospital is not None and not Letter.objects.filter(subject=EMAIL_SUBJECT).exists():
        letter_create(actor=agent, data={
            "kind": LetterKind.EMAIL, "direction": LetterDirection.OUTGOING,
            "letter_date": today - datetime.timedelta(days=5), "subject": EMAIL_SUBJECT,
            "organization": hospital, "counterpart": "设备科 <equipment@hospital1.example.cn>",
            "device_model": monitor,
            "summary": "确认下月第二周上门保养 ICU 全部 KD-M8000 监护仪，并同时升级报警音量软件。",
        })  # fmt: skip
