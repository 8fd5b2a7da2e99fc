"""Human-readable record numbers per kind and year: TS-2026-000123.

Unique under concurrency: the sequence row is incremented with one UPDATE, which holds the row
lock until the surrounding transaction ends, so two writers never read the same value. A rolled
back transaction leaves a gap, which the design accepts.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from medservice.core.models import NumberSequence


def number_next(*, prefix: str, year: int | None = None, width: int = 6) -> str:
    year = year or timezone.localdate().year
    with transaction.atomic():
        sequence = NumberSequence.objects.filter(prefix=prefix, year=year)
        if not sequence.update(last_value=F("last_value") + 1):
            try:
                with transaction.atomic():
                    NumberSequence.objects.create(prefix=prefix, year=year, last_value=1)
            except IntegrityError:
                sequence.update(last_value=F("last_value") + 1)
        value = sequence.values_list("last_value", flat=True).get()
    return f"{prefix}-{year}-{value:0{width}d}"
