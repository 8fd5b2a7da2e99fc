"""API shape of the maintenance records and the inputs of their actions. Related records are
given and returned by id; each id is chosen among what the caller may see, and one outside it is
refused as a 400 naming the field — never a hint that the record exists."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from medservice.accounts.models import User
from medservice.catalog.models import DeviceModel
from medservice.catalog.selectors import device_models_visible_to
from medservice.customers.models import Department, Organization
from medservice.customers.selectors import departments_visible_to, organizations_visible_to
from medservice.installed_base.models import Device, ServiceContract
from medservice.installed_base.selectors import contracts_visible_to, devices_visible_to
from medservice.maintenance.choices import AcceptanceFileKind, TrainingFileKind
from medservice.maintenance.models import (
    AcceptanceFile,
    AcceptanceRecord,
    Installation,
    OperatorTraining,
    PmPlan,
    PmVisit,
    RetrainingSuggestion,
    TrainingAttendee,
    TrainingFile,
)
from medservice.maintenance.selectors import (
    operator_trainings_visible_to,
    retraining_suggestions_visible_to,
    trainers_visible_to,
)


class ScopedIdField(serializers.PrimaryKeyRelatedField):
    """An id among the records the caller may see; any other is "not one you may choose"."""

    default_error_messages = {
        "does_not_exist": _("There is no {thing} with id {pk_value} that you may choose."),
        "incorrect_type": _("Give the id as a number, not {data_type}."),
    }

    def __init__(self, selector: Any, thing: Any, **kwargs: Any) -> None:
        self.selector = selector
        self.thing = thing
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return self.queryset.none()
        return self.selector(request.user)

    def fail(self, key: str, **kwargs: Any) -> None:
        kwargs.setdefault("thing", self.thing)
        super().fail(key, **kwargs)


def _devices(user: Any) -> Any:
    return devices_visible_to(user)


class PmPlanSerializer(serializers.ModelSerializer):
    """A device's PM plan. Create with device, interval_source (model, contract, manual),
    contract and interval_days (for a contract's or hand-set interval), next_due_on (optional:
    one interval after the last service)."""

    device = ScopedIdField(_devices, _("device"), queryset=Device.objects.none())
    contract = ScopedIdField(
        contracts_visible_to, _("service contract"), queryset=ServiceContract.objects.none(),
        required=False, allow_null=True,
    )  # fmt: skip
    interval_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    next_due_on = serializers.DateField(required=False, allow_null=True)
    version = serializers.IntegerField(required=False)
    life_support = serializers.BooleanField(
        source="device.device_model.life_support", read_only=True
    )

    class Meta:
        model = PmPlan
        fields = [
            "id", "device", "organization", "interval_source", "contract", "interval_days",
            "next_due_on", "last_done_on", "active", "notes", "life_support", "version",
        ]  # fmt: skip
        read_only_fields = ["id", "organization", "last_done_on", "life_support"]


class PmVisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = PmVisit
        fields = [
            "id", "plan", "device", "organization", "due_on", "status", "work_order", "done_on",
            "reopened_count",
        ]  # fmt: skip
        read_only_fields = fields


class CompletionRateInput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class CompletionRateSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    due = serializers.IntegerField()
    done = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="percent, one decimal")
    life_support_due = serializers.IntegerField()
    life_support_done = serializers.IntegerField()
    life_support_rate = serializers.FloatField(allow_null=True)
    life_support_flagged = serializers.BooleanField(
        help_text="true when a life-support device's PM due in the period was not done"
    )
    life_support_missed = serializers.ListField(child=serializers.DictField())


class InstallationSerializer(serializers.ModelSerializer):
    """An installation. Create with device: its installation work order is opened (the model's
    acceptance test is the commissioning checklist)."""

    device = ScopedIdField(_devices, _("device"), queryset=Device.objects.none())

    class Meta:
        model = Installation
        fields = [
            "id", "number", "device", "organization", "delivery", "work_order", "status",
            "commissioned_on",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "organization", "delivery", "work_order", "status", "commissioned_on",
        ]  # fmt: skip


class AcceptanceFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = AcceptanceFile
        fields = ["id", "kind", "original_name", "content_type", "uploaded_by", "created_at"]
        read_only_fields = fields


class AcceptanceRecordSerializer(serializers.ModelSerializer):
    """An acceptance certificate (验收证明). Create with device, accepted_on, customer_name,
    customer_title, conformity_certificate_handed, registration_certificate_handed,
    other_documents, notes; then POST sign/ (the customer's printed name) and attach/ (the
    signed scan)."""

    device = ScopedIdField(_devices, _("device"), queryset=Device.objects.none())
    files = AcceptanceFileSerializer(many=True, read_only=True)
    version = serializers.IntegerField(required=False)

    class Meta:
        model = AcceptanceRecord
        fields = [
            "id", "number", "device", "organization", "installation", "accepted_on",
            "customer_name", "customer_title", "conformity_certificate_handed",
            "registration_number", "registration_certificate_handed", "other_documents",
            "notes", "recorded_by", "signed_at", "revision", "warranty_starts_on",
            "warranty_ends_on", "files", "version",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "organization", "installation", "registration_number", "recorded_by",
            "signed_at", "revision", "warranty_starts_on", "warranty_ends_on", "files",
        ]  # fmt: skip


class AcceptanceSignInput(serializers.Serializer):
    printed_name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class AcceptanceAttachInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=AcceptanceFileKind.choices, default=AcceptanceFileKind.SIGNED_CERTIFICATE
    )
    file = serializers.FileField()


class AttendeeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    department = ScopedIdField(
        departments_visible_to, _("department"), queryset=Department.objects.none(),
        required=False, allow_null=True,
    )  # fmt: skip
    position = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TrainingAttendeeSerializer(serializers.ModelSerializer):
    """One attendee. Create with training, name, department (optional), position."""

    training = ScopedIdField(
        operator_trainings_visible_to, _("operator training"),
        queryset=OperatorTraining.objects.none(),
    )  # fmt: skip
    department = ScopedIdField(
        departments_visible_to, _("department"), queryset=Department.objects.none(),
        required=False, allow_null=True,
    )  # fmt: skip

    class Meta:
        model = TrainingAttendee
        fields = ["id", "training", "organization", "name", "department", "position"]
        read_only_fields = ["id", "organization"]


class TrainingFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingFile
        fields = ["id", "kind", "original_name", "content_type", "uploaded_by", "created_at"]
        read_only_fields = fields


class OperatorTrainingSerializer(serializers.ModelSerializer):
    """An operator training (使用培训). Create with organization, department, devices and/or
    device_models, held_on, location, content, trainer, materials, attendees: [{name,
    department, position}], suggestion (the re-training suggestion it answers)."""

    organization = ScopedIdField(
        organizations_visible_to, _("organisation"), queryset=Organization.objects.none()
    )
    department = ScopedIdField(
        departments_visible_to, _("department"), queryset=Department.objects.none(),
        required=False, allow_null=True,
    )  # fmt: skip
    devices = ScopedIdField(
        _devices, _("device"), queryset=Device.objects.none(), many=True, required=False
    )
    device_models = ScopedIdField(
        device_models_visible_to, _("device model"), queryset=DeviceModel.objects.none(),
        many=True, required=False,
    )  # fmt: skip
    trainer = ScopedIdField(trainers_visible_to, _("trainer"), queryset=User.objects.none())
    suggestion = ScopedIdField(
        retraining_suggestions_visible_to, _("re-training suggestion"),
        queryset=RetrainingSuggestion.objects.none(), required=False, allow_null=True,
    )  # fmt: skip
    attendees = AttendeeInputSerializer(many=True, required=False)
    files = TrainingFileSerializer(many=True, read_only=True)
    version = serializers.IntegerField(required=False)

    class Meta:
        model = OperatorTraining
        fields = [
            "id", "number", "organization", "department", "devices", "device_models", "held_on",
            "location", "content", "trainer", "materials", "suggestion", "attendees", "files",
            "version",
        ]  # fmt: skip
        read_only_fields = ["id", "number", "files"]


class TrainingAttachInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrainingFileKind.choices)
    file = serializers.FileField()


class RetrainingSuggestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RetrainingSuggestion
        fields = [
            "id", "organization", "department", "device", "work_order", "reason", "status",
            "training", "dismissed_reason", "decided_by", "decided_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class SuggestionDismissInput(serializers.Serializer):
    reason = serializers.CharField()


class SuggestionScheduleInput(serializers.Serializer):
    held_on = serializers.DateField()
    trainer = ScopedIdField(trainers_visible_to, _("trainer"), queryset=User.objects.none())
    content = serializers.CharField(required=False, allow_blank=True)
    location = serializers.CharField(required=False, allow_blank=True, max_length=200)
    attendees = AttendeeInputSerializer(many=True, required=False)
