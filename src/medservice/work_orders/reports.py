"""The service report (售后服务记录表): its content drawn from the completed work order, the
engineer's and the customer's signatures (on the engineer's phone or through a one-time link),
revisions, the PDF in the customer's language, the failure analysis report, and the fees."""

from __future__ import annotations

from typing import Any

from medservice.work_orders.models import ServiceReport, WorkOrder


def report_create(*, actor: Any, work_order: WorkOrder, language: str = "") -> ServiceReport:
    """The report of a just-completed work order, signed by the engineer (`actor`, whose
    password the caller has checked), waiting for the customer's signature."""
    raise NotImplementedError  # filled in by the reports area
