"""Adverse-event reports (可疑医疗器械不良事件报告) and their legal clocks."""

from __future__ import annotations

from typing import Any


def report_open_from_case(*, actor: Any, case: Any, market: str, outcome: str) -> Any:
    """Open the adverse-event report of a case decided as a reportable adverse event, for one
    market ("CN", "US", "EU") and outcome ("death", "serious_injury", "other"), prefilled from
    the case, its device and organisation. Returns the AdverseEventReport. Once per case and
    market: a second call returns the report already open."""
    raise NotImplementedError
