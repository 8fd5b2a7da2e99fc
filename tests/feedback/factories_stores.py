"""Stores, their books and correspondence, made directly (the rules are tested through the
services)."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from medservice.customers.choices import OrganizationKind
from medservice.feedback.choices import LetterDirection, LetterKind, OpinionCategory
from medservice.feedback.models import (
    Letter,
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)
from tests.factories import OrganizationFactory, UserFactory


class ChainFactory(OrganizationFactory):
    kind = OrganizationKind.CHAIN_STORE
    name = factory.Sequence(lambda n: f"健康大药房连锁 {n}")


class StoreFactory(OrganizationFactory):
    kind = OrganizationKind.STORE
    name = factory.Sequence(lambda n: f"健康大药房 {n} 号店")
    parent = factory.SubFactory(ChainFactory)


class StoreProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreProfile

    store = factory.SubFactory(StoreFactory)
    regulator_name = "上海市黄浦区市场监督管理局"
    supervision_phone = "021-12315"
    store_complaint_phone = "021-6321-0088"
    head_office_complaint_phone = "400-820-1234"


class OpinionEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpinionEntry

    number = factory.Sequence(lambda n: f"OB-2026-{n:06d}")
    store = factory.SubFactory(StoreFactory)
    entry_date = factory.LazyFunction(timezone.localdate)
    category = OpinionCategory.SERVICE
    content = "店员态度很好"
    customer_name = "刘女士"
    customer_phone = "13918807766"


class OpinionReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpinionBookReview

    store = factory.SubFactory(StoreFactory)
    day = factory.LazyFunction(timezone.localdate)
    reviewed_at = factory.LazyFunction(timezone.now)
    reviewed_by = factory.SubFactory(UserFactory)
    findings = "无质量安全问题"


class MissedReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MissedReview

    store = factory.SubFactory(StoreFactory)
    day = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=1))
    deadline = factory.LazyFunction(timezone.now)
    recorded_at = factory.LazyFunction(timezone.now)


class ShortageEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShortageEntry

    number = factory.Sequence(lambda n: f"OS-2026-{n:06d}")
    store = factory.SubFactory(StoreFactory)
    requested_on = factory.LazyFunction(timezone.localdate)
    product_text = "电子血压计"
    customer_name = "王先生"
    customer_phone = "13761234567"


class LetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letter

    number = factory.Sequence(lambda n: f"LT-2026-{n:06d}")
    kind = LetterKind.LETTER
    direction = LetterDirection.INCOMING
    letter_date = factory.LazyFunction(timezone.localdate)
    subject = "关于监护仪报警音量的函"
    organization = factory.SubFactory(OrganizationFactory)


def store_of(organization):
    """A store under `organization` (in its scope: a customer of it sees its children)."""
    return StoreFactory(parent=organization)
