"""Quality accidents for tests: recorded through the service, as quality staff would."""

from __future__ import annotations

import datetime
from typing import Any

from freezegun import freeze_time

from medservice.quality.accidents import accident_record
from medservice.quality.models import QualityAccident, QualityCase
from medservice.quality.services import case_create

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
DISCOVERED = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)


def accident_recorded(
    *, actor: Any, at: datetime.datetime = DISCOVERED, **data: Any
) -> QualityAccident:
    """An accident discovered (and recorded) at `at`."""
    fields = {"title": "输液泵超速输注致患者不适", "severity": "major", "discovered_at": at, **data}
    with freeze_time(at):
        return accident_record(actor=actor, data=fields)


def case_recorded(*, actor: Any, at: datetime.datetime = DISCOVERED, **data: Any) -> QualityCase:
    """A quality case received at `at`, with a complainant."""
    fields = {
        "description": "输液泵流速异常，患者出现不适",
        "complainant_name": "张三",
        "complainant_phone": "13812345678",
        "complainant_address": "杭州市西湖区文三路 1 号",
        "complainant_workplace": "市第一人民医院",
        "complainant_sex": "male",
        "complainant_age": 58,
        "awareness_at": at,
        **data,
    }
    with freeze_time(at):
        return case_create(actor=actor, data=fields)
