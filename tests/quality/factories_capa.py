"""Quality cases and CAPA made directly, for the CAPA and trend tests (the flows go through the
services)."""

from __future__ import annotations

import datetime

import factory

from medservice.quality.models import Capa, QualityCase


class QualityCaseFactory(factory.django.DjangoModelFactory):
    """A manual quality case aware at `awareness_at` (no batch hold: made directly)."""

    class Meta:
        model = QualityCase

    number = factory.Sequence(lambda n: f"QC-2026-{n:06d}")
    source = "manual"
    description = "输液器接口漏液"
    awareness_at = datetime.datetime(2026, 10, 15, 10, 0, tzinfo=datetime.UTC)
    contact_due_at = factory.LazyAttribute(
        lambda case: case.awareness_at + datetime.timedelta(hours=24)
    )


class CapaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Capa

    number = factory.Sequence(lambda n: f"CAPA-2026-{n:06d}")
    kind = "corrective"
    problem = "同一批次输液器接口漏液"
    source_label = "内审 2026-03"
