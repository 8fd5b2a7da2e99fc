"""API viewsets of the installed base: the generic resource viewsets plus the business actions
(coverage, acceptance, hold release), the nested delivery create and the trace endpoint."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.catalog.models import DeviceModel
from medservice.core.api.permissions import ModelPermissions
from medservice.core.api.viewsets import resource_viewset
from medservice.core.errors import InvalidInputError
from medservice.installed_base.api.serializers import (
    AcceptSerializer,
    CoverageQuerySerializer,
    CoverageSerializer,
    DeliverySerializer,
    DeliveryUpdateSerializer,
    DeviceSerializer,
    HoldSerializer,
    ReasonSerializer,
    TraceQuerySerializer,
    TraceSerializer,
)
from medservice.installed_base.resources import contracts, deliveries, devices, holds
from medservice.installed_base.selectors import trace_batch
from medservice.installed_base.services import (
    coverage,
    delivery_create,
    device_accept,
    hold_release,
    warranty_start,
)


class ChangeByAction(ModelPermissions):
    """An action POSTed on an existing record changes it: it needs `change_`, not `add_`."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


def _invalid(errors: Any, message: str) -> InvalidInputError:
    """Serializer errors as one error body; nested line errors keyed `lines.<n>.<field>`
    (lines counted from 1, as in the service's own checks)."""
    fields: dict[str, list[str]] = {}
    for name, problems in errors.items():
        per_line = _per_line(problems) if name == "lines" else None
        if per_line is not None:
            for number, item in per_line:
                # An item that is not an object at all has its errors as a plain list.
                by_field = item if isinstance(item, dict) else {"non_field_errors": item}
                for field, messages in by_field.items():
                    key = (
                        f"lines.{number}"
                        if field == "non_field_errors"
                        else f"lines.{number}.{field}"
                    )
                    fields[key] = [
                        _("Line %(line)s: %(problem)s") % {"line": number, "problem": str(text)}
                        for text in messages
                    ]
        elif isinstance(problems, dict):
            for field, messages in problems.items():
                key = name if field == "non_field_errors" else f"{name}.{field}"
                fields[key] = [str(text) for text in messages]
        else:
            fields[name] = [str(text) for text in problems]
    return InvalidInputError(message, fields=fields)


def _per_line(problems: Any) -> list[tuple[int, dict[str, Any]]] | None:
    """A list field's errors per item, numbered from 1: DRF gives a list with one entry per
    item, or (3.15+) a dict keyed by the bad items' 0-based index."""
    if isinstance(problems, dict) and problems and all(isinstance(key, int) for key in problems):
        return [(index + 1, item) for index, item in sorted(problems.items())]
    if isinstance(problems, list) and any(isinstance(item, dict) for item in problems):
        return [(index + 1, item) for index, item in enumerate(problems) if item]
    return None


class DeviceViewSet(resource_viewset(devices)):  # type: ignore[misc]
    """Units at customers. Search (`?search=`) by serial, batch, UDI-PI or asset number;
    `?ordering=warranty_ends_on` with `?warranty_ends_on_after=&warranty_ends_on_before=` is
    the warranty register."""

    @extend_schema(
        parameters=[
            OpenApiParameter("on", str, description="YYYY-MM-DD; default today"),
            OpenApiParameter(
                "exclusion", str, description="misuse, force_majeure or unauthorised_repair"
            ),
        ],
        responses={200: CoverageSerializer},
    )
    @action(detail=True, methods=["get"])
    def coverage(self, request: Request, pk: Any = None) -> Response:
        """What is covered (parts, labour, travel, PM) on a day, by what, and why not."""
        device = self.get_object()
        query = CoverageQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise _invalid(query.errors, _("The coverage question is not valid."))
        on = query.validated_data.get("on") or timezone.localdate()
        answers = coverage(device, on=on, exclusion=query.validated_data.get("exclusion"))
        return Response(
            {
                "device": device.pk,
                "on": on.isoformat(),
                "warranty_starts_on": _iso(warranty_start(device)),
                "warranty_ends_on": _iso(device.warranty_ends_on),
                "coverage": {
                    str(category): {
                        "covered": answer.covered,
                        "by": answer.by,
                        "reason": answer.reason,
                    }
                    for category, answer in answers.items()
                },
            }
        )

    @extend_schema(request=AcceptSerializer, responses={200: DeviceSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeByAction])
    def accept(self, request: Request, pk: Any = None) -> Response:
        """Record the customer's acceptance; the warranty restarts from that day."""
        device = self.get_object()
        serializer = AcceptSerializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer.errors, _("The acceptance was not recorded."))
        device = device_accept(
            actor=request.user, device=device, accepted_on=serializer.validated_data["accepted_on"]
        )
        return Response(DeviceSerializer(device, context=self.get_serializer_context()).data)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


class DeliveryViewSet(resource_viewset(deliveries)):  # type: ignore[misc]
    """Deliveries (sales records) with their lines. A POST creates the delivery, its lines and
    the units of its serial lines at once; every problem is reported together, keyed
    `lines.<n>.<field>` (n counted from 1). Afterwards only the paperwork changes."""

    def get_serializer_class(self) -> Any:
        if self.action in ("update", "partial_update"):
            return DeliveryUpdateSerializer
        return DeliverySerializer

    @extend_schema(request=DeliverySerializer, responses={201: DeliverySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer.errors, _("Nothing was saved: correct the fields named."))
        data = dict(serializer.validated_data)
        data.pop("version", None)
        delivery = delivery_create(actor=request.user, **data)
        # Answer from the user's own scope, as every read does.
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(self.get_serializer(delivery).data, status=201)


ContractViewSet = resource_viewset(contracts)


class HoldViewSet(resource_viewset(holds)):  # type: ignore[misc]
    """Holds on batches, serials and units (internal roles only). POST places one;
    POST .../release/ with a reason releases it."""

    @extend_schema(request=ReasonSerializer, responses={200: HoldSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeByAction])
    def release(self, request: Request, pk: Any = None) -> Response:
        hold = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer.errors, _("Say why the hold is released."))
        hold = hold_release(
            actor=request.user, hold=hold, reason=serializer.validated_data["reason"]
        )
        return Response(HoldSerializer(hold, context=self.get_serializer_context()).data)


class TraceViewSet(viewsets.ViewSet):
    """Trace (追溯): every unit and delivery line of a model's batch (or serial), with owners,
    within the caller's scope, and the active holds on it for internal roles."""

    permission_classes = [IsAuthenticated]
    # `list` answers one trace object, not an array (core.api.schema.MedServiceAutoSchema).
    answers_one_object = True

    @extend_schema(parameters=[TraceQuerySerializer], responses={200: TraceSerializer})
    def list(self, request: Request) -> Response:
        if not request.user.has_perm("installed_base.view_device"):
            raise PermissionDenied
        query = TraceQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise _invalid(query.errors, _("Name the device model and the batch or serial number."))
        model_id = query.validated_data["device_model"]
        if not DeviceModel.objects.filter(pk=model_id).exists():
            raise InvalidInputError(
                _("This device model does not exist."),
                fields={"device_model": [_("This device model does not exist.")]},
            )
        batch = query.validated_data.get("batch_number", "")
        serial = query.validated_data.get("serial_number", "")
        trace = trace_batch(model_id, batch, serial_number=serial, user=request.user)
        answer = {
            "device_model": model_id,
            "batch_number": batch,
            "serial_number": serial,
            "devices": trace.devices,
            "delivery_lines": trace.delivery_lines,
            "holds": trace.holds,
        }
        return Response(TraceSerializer(answer).data)


class UdiQuerySerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="The scanned GS1 string, e.g. (01)06912345678901(17)281231(10)B2301(21)SN001"
    )


class UdiViewSet(viewsets.ViewSet):
    """A scanned UDI: its parts (model identifier, batch, serial, dates), the catalogue model
    and the units it finds within your scope — to fill a form or to open the device."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[UdiQuerySerializer],
        responses={
            200: inline_serializer(
                "UdiAnswer",
                {
                    "udi_di": serializers.CharField(),
                    "batch_number": serializers.CharField(),
                    "serial_number": serializers.CharField(),
                    "production_date": serializers.DateField(allow_null=True),
                    "expiry_date": serializers.DateField(allow_null=True),
                    "udi_pi": serializers.CharField(),
                    "device_model": serializers.IntegerField(allow_null=True),
                    "devices": serializers.ListField(child=serializers.IntegerField()),
                },
            )
        },
    )
    def list(self, request: Request) -> Response:
        from medservice.installed_base.selectors import udi_lookup

        query = UdiQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise _invalid(query.errors, _("Scan or type a UDI."))
        match = udi_lookup(request.user, query.validated_data["code"])
        udi = match.udi
        return Response(
            {
                "udi_di": udi.udi_di,
                "batch_number": udi.batch_number,
                "serial_number": udi.serial_number,
                "production_date": udi.production_date.isoformat() if udi.production_date else None,
                "expiry_date": udi.expiry_date.isoformat() if udi.expiry_date else None,
                "udi_pi": udi.udi_pi,
                "device_model": match.device_model.pk if match.device_model else None,
                "devices": [device.pk for device in match.devices],
            }
        )
