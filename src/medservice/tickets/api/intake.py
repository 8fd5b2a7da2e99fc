"""Inbound intake API (issue 12): POST /api/v1/intake/tickets/ for a call centre or a WeChat
bridge, signed in with the API token of an integration account (role "integration", permission
tickets.add_ticket_via_integration). 201 with the new request; 200 with the request an earlier
delivery of the same external reference created. See docs/api.md, "Inbound intake"."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from medservice.customers.validators import validate_phone
from medservice.tickets.choices import TicketKind
from medservice.tickets.intake_integration import (
    INTEGRATION_CHANNELS,
    PERMISSION,
    integration_ticket_receive,
)
from medservice.tickets.models import Ticket


class IntakeThrottle(SimpleRateThrottle):
    """Per integration account (its token), not per address: a call centre sends from a few
    addresses for many agents. The rate is REST_FRAMEWORK's "intake" (INTAKE_RATE)."""

    scope = "intake"

    def timer(self) -> float:
        # Read the clock at call time (see accounts.api.views.TokenThrottle).
        return time.time()

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope, "60/minute")

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not getattr(request.user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class MayUseIntake(BasePermission):
    message = gettext_lazy(
        "This account may not register requests through the intake API; it needs the "
        "integration role."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm(PERMISSION))


class IntakeTicketInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        max_length=200,
        help_text=gettext_lazy(
            "Your own reference (call id, message id): sending it again returns the same request."
        ),
    )
    channel = serializers.ChoiceField(choices=[(value, value) for value in INTEGRATION_CHANNELS])
    kind = serializers.ChoiceField(
        choices=TicketKind.choices,
        required=False,
        help_text=gettext_lazy("Left out, it is guessed from the words (the agent corrects it)."),
    )
    caller_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    caller_phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, validators=[validate_phone]
    )
    caller_email = serializers.EmailField(required=False, allow_blank=True)
    caller_wechat_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    serial_number = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Serial, asset or UDI number of the device, as the caller says."),
    )
    customer_code = serializers.CharField(
        max_length=18,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("The customer's unified social credit code."),
    )
    product = serializers.CharField(max_length=200, required=False, allow_blank=True)
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=20000)
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    patient_involved = serializers.BooleanField(required=False, default=False)
    injury = serializers.BooleanField(required=False, default=False)
    stop_use_advised = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy(
            "The caller was told to stop using that batch or serial (required by phone for a "
            "quality complaint or when a patient was involved)."
        ),
    )

    def validate_external_id(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError(_("Give your reference for this request."))
        return value.strip()

    def validate_description(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError(_("Describe what the caller reports."))
        return value


class IntakeTicketSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(source="intake_reference.external_id", read_only=True)
    created = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "kind",
            "channel",
            "status",
            "organization",
            "contact",
            "device",
            "received_at",
            "first_response_due_at",
            "resolution_due_at",
            "external_id",
            "created",
        ]
        read_only_fields = fields

    def get_created(self, ticket: Ticket) -> bool:
        return bool(self.context.get("created"))


class IntakeTicketView(APIView):
    """Register a service request from a call centre or a WeChat bridge."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated, MayUseIntake]
    throttle_classes = [IntakeThrottle]

    @extend_schema(
        operation_id="intake_tickets_create",
        tags=["intake"],
        request=IntakeTicketInputSerializer,
        responses={
            201: IntakeTicketSerializer,
            200: OpenApiResponse(
                IntakeTicketSerializer,
                description="The request an earlier delivery of the same external_id created.",
            ),
            400: OpenApiResponse(description="Fields named in error.fields; nothing saved."),
            403: OpenApiResponse(description="The token's account lacks the integration role."),
            429: OpenApiResponse(description="Over the account's rate (INTAKE_RATE)."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = IntakeTicketInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket, created = integration_ticket_receive(
            integration=request.user, data=serializer.validated_data
        )
        body = IntakeTicketSerializer(ticket, context={"created": created}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
