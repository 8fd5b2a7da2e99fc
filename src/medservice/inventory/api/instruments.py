"""The tools and instruments API: the registry (list, read, create, update), and the actions
POST .../{id}/check-out/, check-in/ and calibrate/; GET .../{id}/calibrations/ lists the
instrument's calibrations, newest first."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.core.api.inputs import action_input
from medservice.core.errors import InvalidInputError
from medservice.inventory.api.serializers import TIMESTAMPS, ScopedSerializer
from medservice.inventory.choices import CalibrationResult
from medservice.inventory.instruments import (
    instrument_calibration_record,
    instrument_check_in,
    instrument_check_out,
)
from medservice.inventory.models import Instrument, InstrumentCalibration, InstrumentCheckout
from medservice.inventory.selectors import locations_visible_to


class InstrumentSerializer(ScopedSerializer):
    scoped_relations: ClassVar[dict[str, Any]] = {"home_location": locations_visible_to}

    class Meta:
        model = Instrument
        fields = [
            "id",
            "number",
            "name",
            "kind",
            "model_spec",
            "serial_number",
            "manufacturer",
            "home_location",
            "status",
            "holder",
            "calibration_interval_days",
            "calibration_due_on",
            "notes",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "holder", "calibration_due_on", *TIMESTAMPS]


class InstrumentCalibrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstrumentCalibration
        fields = [
            "id",
            "instrument",
            "calibrated_on",
            "valid_until",
            "performed_by",
            "certificate_number",
            "result",
            "certificate",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class InstrumentCheckoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstrumentCheckout
        fields = [
            "id",
            "instrument",
            "holder",
            "checked_out_at",
            "due_back_on",
            "checked_in_at",
            "condition_note",
        ]
        read_only_fields = fields


class InstrumentCheckOutSerializer(serializers.Serializer):
    holder = serializers.IntegerField(help_text="The user the instrument is handed to.")
    due_back_on = serializers.DateField(required=False, allow_null=True, default=None)


class InstrumentCheckInSerializer(serializers.Serializer):
    condition_note = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )


class InstrumentCalibrateSerializer(serializers.Serializer):
    calibrated_on = serializers.DateField()
    valid_until = serializers.DateField()
    performed_by = serializers.CharField(max_length=200)
    certificate_number = serializers.CharField(
        required=False, allow_blank=True, max_length=100, default=""
    )
    result = serializers.ChoiceField(choices=CalibrationResult.choices)
    certificate = serializers.FileField(required=False, allow_null=True, default=None)


def holder_choices(user: Any) -> Any:
    """Who an instrument may be handed to: active staff of the company and distributors'
    engineers (never a customer user)."""
    from medservice.accounts.models import User

    return User.objects.filter(is_active=True, organization__kind__in=["company", "distributor"])


RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such instrument in your scope."),
    409: OpenApiResponse(description="Not possible in the instrument's current state."),
}


def _viewset() -> type:
    """The viewset, built once the resource is registered (views_instruments.py)."""
    from medservice.core.api.viewsets import resource_viewset
    from medservice.inventory.views_instruments import instruments

    class InstrumentViewSet(resource_viewset(instruments)):  # type: ignore[misc]
        """Repair tools and measuring instruments. Check-out is refused (409) when retired, at
        calibration, already out, or — for a measuring instrument on a calibration cycle —
        when its calibration is not valid (code calibration_expired)."""

        # No workflow table: the services' own permissions, refused before the input is read.
        action_permissions: ClassVar[dict[str, str]] = {
            "check-out": "inventory.checkout_instrument",
            "check-in": "inventory.checkout_instrument",
            "calibrate": "inventory.add_instrumentcalibration",
        }

        def _answer(self, instrument: Instrument) -> Response:
            instrument = Instrument.objects.get(pk=instrument.pk)
            return Response(
                InstrumentSerializer(instrument, context=self.get_serializer_context()).data
            )

        @extend_schema(request=InstrumentCheckOutSerializer,
                       responses={200: InstrumentSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], url_path="check-out", url_name="check-out",
                permission_classes=[IsAuthenticated])  # fmt: skip
        def check_out(self, request: Request, pk: Any = None) -> Response:
            """Hand the instrument to a user."""
            instrument = self.get_object()
            data = action_input(InstrumentCheckOutSerializer, request)
            holder = holder_choices(request.user).filter(pk=data["holder"]).first()
            if holder is None:
                message = _("Choose an active user to hand it to.")
                raise InvalidInputError(message, fields={"holder": [message]})
            instrument = instrument_check_out(
                actor=request.user,
                instrument=instrument,
                holder=holder,
                due_back_on=data["due_back_on"],
            )
            return self._answer(instrument)

        @extend_schema(request=InstrumentCheckInSerializer,
                       responses={200: InstrumentSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], url_path="check-in", url_name="check-in",
                permission_classes=[IsAuthenticated])  # fmt: skip
        def check_in(self, request: Request, pk: Any = None) -> Response:
            """Take the instrument back, noting its condition."""
            instrument = self.get_object()
            data = action_input(InstrumentCheckInSerializer, request)
            instrument = instrument_check_in(
                actor=request.user, instrument=instrument, condition_note=data["condition_note"]
            )
            return self._answer(instrument)

        @extend_schema(request=InstrumentCalibrateSerializer,
                       responses={201: InstrumentCalibrationSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated],
                parser_classes=[JSONParser, MultiPartParser, FormParser])  # fmt: skip
        def calibrate(self, request: Request, pk: Any = None) -> Response:
            """Record a calibration (a pass sets the next due date; a failure takes the
            instrument out of use, at calibration)."""
            instrument = self.get_object()
            data = action_input(InstrumentCalibrateSerializer, request)
            calibration = instrument_calibration_record(
                actor=request.user, instrument=instrument, **data
            )
            return Response(
                InstrumentCalibrationSerializer(
                    calibration, context=self.get_serializer_context()
                ).data,
                status=201,
            )

        @extend_schema(responses={200: InstrumentCalibrationSerializer(many=True)})
        @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated])
        def calibrations(self, request: Request, pk: Any = None) -> Response:
            """The instrument's calibrations, newest first."""
            instrument = self.get_object()
            rows = instrument.calibrations.order_by("-calibrated_on", "-pk")
            page = self.paginate_queryset(rows)
            serializer = InstrumentCalibrationSerializer(
                page, many=True, context=self.get_serializer_context()
            )
            return self.get_paginated_response(serializer.data)

    return InstrumentViewSet


def register(router: DefaultRouter) -> None:
    """Register the tools and instruments viewset on the API router."""
    router.register("instruments", _viewset(), basename="instrument")
