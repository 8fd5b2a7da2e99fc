"""The work itself, on site, in the workshop or at the supplier: diagnosis, parts fitted and
removed, labour and travel time, the acceptance test with reference instruments (and the
service manager's override of a failed item), the complaint screening, remote-support sessions,
the workshop receipt and return shipment, the loan unit, and repairs sent to the supplier."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medservice.work_orders.models import TestResult, WorkOrder


@dataclass
class TestState:
    """Where the model's acceptance test stands on a work order."""

    results: list[TestResult] = field(default_factory=list)
    missing: list[Any] = field(default_factory=list)  # AcceptanceTestItem without a result
    failed: list[TestResult] = field(default_factory=list)

    __test__ = False

    @property
    def passed(self) -> bool:
        return not self.missing and not self.failed


def acceptance_test_state(work_order: WorkOrder) -> TestState:
    """Each item of the device model's checklist, its latest result, what is missing and what
    failed (two queries)."""
    items = list(work_order.device.device_model.acceptance_items.order_by("position", "pk"))
    results = {
        result.item_id: result
        for result in TestResult.objects.filter(work_order=work_order).select_related(
            "item", "instrument"
        )
    }
    state = TestState()
    for item in items:
        result = results.get(item.pk)
        if result is None:
            state.missing.append(item)
            continue
        state.results.append(result)
        if not result.passed:
            state.failed.append(result)
    return state
