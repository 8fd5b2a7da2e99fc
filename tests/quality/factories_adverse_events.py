"""Builders for adverse-event report tests: a quality case about a device, and a report opened
at a frozen time (the awareness time may never be in the future)."""

from __future__ import annotations

import datetime
from typing import Any

from freezegun import freeze_time

from medservice.quality.adverse_events import report_create
from medservice.quality.services import case_create

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def shanghai(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=SHANGHAI)


def case_about(device: Any, *, actor: Any, awareness_at: datetime.datetime) -> Any:
    with freeze_time(awareness_at + datetime.timedelta(minutes=30)):
        return case_create(
            actor=actor,
            data={
                "description": "输液泵报警失灵导致过量输注", "device": device,
                "awareness_at": awareness_at, "symptoms": "患者心率过快", "patient_involved": True,
                "injury": True,
            },
        )  # fmt: skip


def report_at(awareness_at: datetime.datetime, *, actor: Any, **data: Any) -> Any:
    with freeze_time(awareness_at + datetime.timedelta(minutes=30)):
        return report_create(actor=actor, data={"awareness_at": awareness_at, **data})
