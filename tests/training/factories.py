"""Factories for training records: valid by default; tests of the rules go through services."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from medservice.training.choices import TopicCategory
from medservice.training.models import Certification, TrainingSession


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingSession

    number = factory.Sequence(lambda n: f"TR-2026-{n:06d}")
    title = "监护仪维修培训"
    category = TopicCategory.PRODUCT
    starts_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certification

    valid_from = datetime.date(2026, 1, 1)
    valid_until = datetime.date(2027, 12, 31)
