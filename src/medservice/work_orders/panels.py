"""Panels the areas add to the work order's record page and to the customer's portal page
(visits, parts and tests, reports and fees): each is a template and a context function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Panel:
    name: str
    template: str
    context: Callable[[Any, Any], dict[str, Any]]  # (request, work order) -> context
    order: int = 100
    permission: str = ""


RECORD_PANELS: dict[str, Panel] = {}
CUSTOMER_PANELS: dict[str, Panel] = {}


def panel_register(panel: Panel, *, customer: bool = False) -> None:
    (CUSTOMER_PANELS if customer else RECORD_PANELS)[panel.name] = panel


def _render(panels: dict[str, Panel], request: Any, work_order: Any) -> list[dict[str, Any]]:
    user = request.user
    return [
        {"name": panel.name, "template": panel.template, **panel.context(request, work_order)}
        for panel in sorted(panels.values(), key=lambda item: (item.order, item.name))
        if not panel.permission or user.has_perm(panel.permission)
    ]


def panels_for(request: Any, work_order: Any) -> list[dict[str, Any]]:
    return _render(RECORD_PANELS, request, work_order)


def customer_panels_for(request: Any, work_order: Any) -> list[dict[str, Any]]:
    return _render(CUSTOMER_PANELS, request, work_order)
