"""The work-order viewset: the generic list/read/create of the resource, plus the actions of
each area as mixins (actions.py, dispatch.py, onsite.py, reports.py)."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from medservice.work_orders.api.actions import CoreActions
from medservice.work_orders.api.dispatch import DispatchActions
from medservice.work_orders.api.onsite import OnsiteActions
from medservice.work_orders.api.reports import FEE_ACTION_PERMISSIONS, ReportsActions
from medservice.work_orders.api.serializers import WorkOrderSerializer


def viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.work_orders.workflow import TRANSITIONS

    base = resource_viewset(resource)

    class WorkOrderViewSet(CoreActions, DispatchActions, OnsiteActions, ReportsActions, base):  # type: ignore[misc, valid-type]
        """Work orders (维修工单 / 服务工单). Filters: status, kind, engineer, organization,
        device, ticket, mine. Each step is POST .../{id}/{action}/; a refused step answers 409
        (wrong state) or 400 (bad input) with the reason in the user's language."""

        transitions = TRANSITIONS
        # The fee actions have no row in the table; their permissions are refused up front too.
        action_permissions = FEE_ACTION_PERMISSIONS

        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("visits")

        def _answer(self, work_order: Any) -> Response:
            work_order = self.get_queryset().get(pk=work_order.pk)
            return Response(
                WorkOrderSerializer(work_order, context=self.get_serializer_context()).data
            )

    WorkOrderViewSet.__doc__ = base.__doc__
    return WorkOrderViewSet
