"""API shapes of tickets: shape only; the services decide."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from medservice.core.crypto import mask_text
from medservice.customers.selectors import user_scope
from medservice.tickets.models import QualityIntake, Ticket, TicketClock, TimelineEntry


class QualityIntakeSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualityIntake
        fields = [
            "complainant_sex",
            "complainant_age",
            "complainant_address",
            "complainant_workplace",
            "device_used",
            "symptoms",
            "manufacturer_reported",
            "batch_or_serial",
            "purchased_from",
            "purchased_on",
            "stop_use_advised",
            "stop_use_advised_at",
        ]
        read_only_fields = ["stop_use_advised_at"]


class ClockSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()

    class Meta:
        model = TicketClock
        fields = [
            "target",
            "cycle",
            "hours",
            "extension_hours",
            "counting",
            "started_at",
            "due_at",
            "paused",
            "unconfirmed",
            "warned_at",
            "met_at",
            "breached_at",
            "stopped_at",
            "state",
        ]
        read_only_fields = fields

    def get_state(self, clock: TicketClock) -> str:
        from medservice.tickets.sla import clock_state

        return clock_state(clock)


class TicketSerializer(serializers.ModelSerializer):
    """A service request. The SLA due times and each target's met/breached time are read-only:
    the SLA engine sets them."""

    # null on a request without a quality intake (the answer says so; the input may too).
    quality_intake = QualityIntakeSerializer(required=False, allow_null=True)
    clocks = ClockSerializer(many=True, read_only=True)
    reporter_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "kind",
            "channel",
            "status",
            "priority",
            "organization",
            "contact",
            "reporter_name",
            "reporter_phone",
            "reporter_email",
            "device",
            "device_model",
            "product_reported",
            "serial_reported",
            "subject",
            "description",
            "patient_involved",
            "injury",
            "received_at",
            "received_by",
            "owner",
            "team",
            "sla_tier",
            "first_response_due_at",
            "plan_due_at",
            "resolution_due_at",
            "onsite_due_at",
            "next_due_at",
            "solution",
            "resolution_type",
            "resolution",
            "resolved_at",
            "confirmed_at",
            "confirmed_by_name",
            "confirmation_method",
            "closed_at",
            "rating",
            "rating_comment",
            "screened_at",
            "is_complaint",
            "may_be_reportable",
            "needs_investigation",
            "no_investigation_reason",
            "reopened_count",
            "quality_intake",
            "clocks",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            field
            for field in fields
            if field
            not in {
                "kind",
                "channel",
                "priority",
                "organization",
                "contact",
                "reporter_name",
                "reporter_phone",
                "reporter_email",
                "device",
                "device_model",
                "product_reported",
                "serial_reported",
                "subject",
                "description",
                "patient_involved",
                "injury",
                "received_at",
                "quality_intake",
            }
        ]
        # Left out, the subject is the description's beginning (the service fills it).
        extra_kwargs = {"subject": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and "organization" in self.fields:
            from medservice.customers.selectors import (
                contacts_visible_to,
                organizations_visible_to,
            )
            from medservice.installed_base.selectors import devices_visible_to

            self.fields["organization"].queryset = organizations_visible_to(user)
            self.fields["contact"].queryset = contacts_visible_to(user)
            self.fields["device"].queryset = devices_visible_to(user)

    def to_representation(self, instance: Ticket) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        # Personal values are returned masked; POST .../unmask/ shows one, audited.
        data["reporter_phone"] = instance.reporter_phone_masked
        data["reporter_email"] = (
            mask_text(instance.reporter_email) if instance.reporter_email else ""
        )
        if user_scope(user) == "customer":
            for internal in (
                "screened_at",
                "is_complaint",
                "may_be_reportable",
                "needs_investigation",
                "no_investigation_reason",
                "quality_intake",
            ):
                data.pop(internal, None)  # fmt: skip
        return data


class TimelineEntrySerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "kind",
            "customer_visible",
            "text",
            "actor_label",
            "created_at",
            "attachment_name",
            "attachment_type",
            "attachment_size",
            "file_url",
            "data",
        ]
        read_only_fields = fields

    def get_file_url(self, entry: TimelineEntry) -> str | None:
        if not entry.attachment:
            return None
        return f"/api/v1/tickets/{entry.ticket_id}/attachments/{entry.pk}/"


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True)
    customer_visible = serializers.BooleanField(required=False, default=False)
    file = serializers.FileField(required=False)


class TicketUnmaskSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=["reporter_phone", "reporter_email"])


_WHEN = serializers.DateTimeField()


class TicketListSerializer(serializers.ModelSerializer):
    """A list row: the facts a desk sorts and filters by, and per target its due, met and
    breached times (the current cycle). The full record, with every clock, is on the detail."""

    sla = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "kind",
            "channel",
            "status",
            "priority",
            "organization",
            "device",
            "subject",
            "received_at",
            "owner",
            "team",
            "first_response_due_at",
            "plan_due_at",
            "resolution_due_at",
            "onsite_due_at",
            "next_due_at",
            "resolved_at",
            "closed_at",
            "sla",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "description": "Per target (first_response, plan, resolution, onsite): "
            "due_at, met_at, breached_at and paused of its current cycle.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "due_at": {"type": "string", "format": "date-time"},
                    "met_at": {"type": "string", "format": "date-time", "nullable": True},
                    "breached_at": {"type": "string", "format": "date-time", "nullable": True},
                    "paused": {"type": "boolean"},
                },
            },
        }
    )
    def get_sla(self, ticket: Ticket) -> dict[str, Any]:
        current: dict[str, TicketClock] = {}
        for clock in ticket.clocks.all():  # prefetched
            if clock.target not in current or clock.cycle > current[clock.target].cycle:
                current[clock.target] = clock
        return {
            target: {
                "due_at": _WHEN.to_representation(clock.due_at),
                "met_at": _WHEN.to_representation(clock.met_at) if clock.met_at else None,
                "breached_at": _WHEN.to_representation(clock.breached_at)
                if clock.breached_at
                else None,
                "paused": clock.paused,
            }
            for target, clock in current.items()
        }
