"""The work-order API actions of the onsite area (a mixin of the work-order viewset): the
diagnosis, parts, time, acceptance test and its override, screening, remote sessions, and the
workshop and supplier steps. Related ids are looked up only among what the user may see."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.catalog.selectors import acceptance_test_items_visible_to, fault_codes_visible_to
from medservice.core.api.inputs import action_input
from medservice.installed_base.selectors import devices_visible_to
from medservice.inventory.selectors import (
    instruments_visible_to,
    locations_visible_to,
    lots_visible_to,
    parts_visible_to,
)
from medservice.training.selectors import document_versions_visible_to
from medservice.work_orders.api.actions import RESPONSES
from medservice.work_orders.choices import RemoteOutcome, TimeKind
from medservice.work_orders.onsite import (
    TestInput,
    diagnosis_record,
    parts_record,
    remote_session_record,
    screening_record,
    supplier_receive,
    supplier_send,
    test_override,
    test_record,
    time_record,
    unit_receive,
    unit_ship_back,
    work_start,
)

QUANTITY = {"max_digits": 12, "decimal_places": 3, "min_value": Decimal("0.001")}


@extend_schema_field(OpenApiTypes.INT)
class VisibleTo(serializers.PrimaryKeyRelatedField):
    """An id looked up among the records the requesting user may see (`selector(user)`), so
    an id outside the user's scope reads as one that does not exist. Also nested in lists."""

    def __init__(self, selector: Callable[[Any], Any], **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return self.selector(request.user if request is not None else None)


class SubmissionKeyField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False, default="", allow_blank=True, max_length=64,
            help_text="Any key the client gives this submission: a resend with the same key "
            "changes nothing.", **kwargs,
        )  # fmt: skip


class DiagnosisInput(serializers.Serializer):
    symptom = serializers.CharField()
    fault_code = VisibleTo(fault_codes_visible_to, required=False, allow_null=True, default=None)
    root_cause = serializers.CharField(required=False, default="", allow_blank=True)
    actions_taken = serializers.CharField(required=False, default="", allow_blank=True)
    guidance = serializers.CharField(required=False, default="", allow_blank=True)
    document_version = VisibleTo(
        document_versions_visible_to, required=False, allow_null=True, default=None
    )
    submission_key = SubmissionKeyField()


class FittedInput(serializers.Serializer):
    part = VisibleTo(parts_visible_to)
    quantity = serializers.DecimalField(required=False, default=Decimal(1), **QUANTITY)
    lot = VisibleTo(lots_visible_to, required=False, allow_null=True, default=None)


class RemovedInput(serializers.Serializer):
    part = VisibleTo(parts_visible_to)
    quantity = serializers.DecimalField(required=False, default=Decimal(1), **QUANTITY)
    lot_text = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=100,
        help_text="The lot or serial number read on the removed part.",
    )  # fmt: skip


class PartsInput(serializers.Serializer):
    fitted = FittedInput(many=True, required=False, default=list)
    removed = RemovedInput(many=True, required=False, default=list)
    location = VisibleTo(
        locations_visible_to, required=False, allow_null=True, default=None,
        help_text="Where fitted parts come from; default the engineer's own stock.",
    )  # fmt: skip
    submission_key = SubmissionKeyField()


class TimeInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TimeKind.choices)
    day = serializers.DateField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    submission_key = SubmissionKeyField()


class TestResultInput(serializers.Serializer):
    __test__ = False
    item = VisibleTo(acceptance_test_items_visible_to)
    measured_value = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, allow_null=True, default=None
    )
    passed = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="For a pass/fail check; computed from the tolerance for a measured one.",
    )  # fmt: skip
    instrument = VisibleTo(instruments_visible_to, required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=300)


class TestInputs(serializers.Serializer):
    __test__ = False
    results = TestResultInput(many=True, allow_empty=False)
    submission_key = SubmissionKeyField()


class OverrideInput(serializers.Serializer):
    reason = serializers.CharField()


class ScreenInput(serializers.Serializer):
    is_complaint = serializers.BooleanField(allow_null=False)
    may_be_reportable = serializers.BooleanField(allow_null=False)
    note = serializers.CharField(required=False, default="", allow_blank=True)


class RemoteSessionInput(serializers.Serializer):
    tool = serializers.CharField(max_length=100)
    started_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)
    outcome = serializers.ChoiceField(choices=RemoteOutcome.choices)
    notes = serializers.CharField(required=False, default="", allow_blank=True)


class ReceiveUnitInput(serializers.Serializer):
    condition = serializers.CharField()
    accessories = serializers.CharField(required=False, default="", allow_blank=True)
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list)
    loan_device = VisibleTo(devices_visible_to, required=False, allow_null=True, default=None)


class ShipBackInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=100)
    tracking = serializers.CharField(max_length=100)
    loan_back = serializers.BooleanField(required=False, default=False)


class SupplierSendInput(serializers.Serializer):
    expected_on = serializers.DateField()
    reference = serializers.CharField(required=False, default="", allow_blank=True,
                                      max_length=100)  # fmt: skip


class SupplierReceiveInput(serializers.Serializer):
    report = serializers.CharField()
    report_file = serializers.FileField(required=False, allow_null=True, default=None)


def _photos(request: Request, data: dict[str, Any]) -> list[Any]:
    # A multipart form sends several files under one name; the serializer keeps only one.
    files = getattr(request, "FILES", None)
    if files is not None and hasattr(files, "getlist") and files.getlist("photos"):
        return list(files.getlist("photos"))
    return list(data.get("photos") or [])


class OnsiteActions:
    """Mixed into the work-order viewset: the work itself."""

    def _answer(self, work_order: Any) -> Response:  # pragma: no cover - replaced in viewset
        raise NotImplementedError

    @extend_schema(request=DiagnosisInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="record-diagnosis",
            url_name="record-diagnosis", permission_classes=[IsAuthenticated])  # fmt: skip
    def record_diagnosis(self, request: Request, pk: Any = None) -> Response:
        """Record the diagnosis: symptom, a fault code of the model's tree, root cause, actions,
        guidance given to the user and the service procedure version followed."""
        work_order = self.get_object()
        data = action_input(DiagnosisInput, request)
        return self._answer(diagnosis_record(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=PartsInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="record-parts", url_name="record-parts",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def record_parts(self, request: Request, pk: Any = None) -> Response:
        """Parts fitted (from the engineer's stock) and removed (booked in as defective),
        through the stock ledger; a shortfall or a held lot answers 409 and moves nothing."""
        work_order = self.get_object()
        data = action_input(PartsInput, request)
        parts_record(
            actor=request.user,
            work_order=work_order,
            fitted=[(line["part"], line["quantity"], line["lot"]) for line in data["fitted"]],
            removed=[
                (line["part"], line["quantity"], line["lot_text"]) for line in data["removed"]
            ],
            location=data["location"],
            submission_key=data["submission_key"],
        )
        return self._answer(work_order)

    @extend_schema(request=TimeInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="record-time", url_name="record-time",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def record_time(self, request: Request, pk: Any = None) -> Response:
        """Labour or travel hours of the requesting engineer on a day (not in the future)."""
        work_order = self.get_object()
        data = action_input(TimeInput, request)
        time_record(actor=request.user, work_order=work_order, **data)
        return self._answer(work_order)

    @extend_schema(request=TestInputs, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="record-test", url_name="record-test",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def record_test(self, request: Request, pk: Any = None) -> Response:
        """Acceptance-test results, one per check of the model's test (a re-test replaces the
        earlier result). A measured check needs a reference instrument whose calibration is
        valid today (409 naming `results.<n>.instrument` otherwise)."""
        work_order = self.get_object()
        data = action_input(TestInputs, request)
        test_record(
            actor=request.user,
            work_order=work_order,
            results=[TestInput(**line) for line in data["results"]],
            submission_key=data["submission_key"],
        )
        return self._answer(work_order)

    @extend_schema(request=OverrideInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="override-test", url_name="override-test",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def override_test(self, request: Request, pk: Any = None) -> Response:
        """The service manager lets the work complete despite a failed check, with a reason."""
        work_order = self.get_object()
        data = action_input(OverrideInput, request)
        return self._answer(test_override(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=ScreenInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def screen(self, request: Request, pk: Any = None) -> Response:
        """Is this service record a complaint, may it be a reportable event? A yes raises the
        quality event."""
        work_order = self.get_object()
        data = action_input(ScreenInput, request)
        return self._answer(screening_record(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=RemoteSessionInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="record-remote-session",
            url_name="record-remote-session", permission_classes=[IsAuthenticated])  # fmt: skip
    def record_remote_session(self, request: Request, pk: Any = None) -> Response:
        """A remote-support session: tool, start, duration and outcome."""
        work_order = self.get_object()
        data = action_input(RemoteSessionInput, request)
        remote_session_record(actor=request.user, work_order=work_order, **data)
        return self._answer(work_order)

    @extend_schema(request=ReceiveUnitInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="receive-unit", url_name="receive-unit",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def receive_unit(self, request: Request, pk: Any = None) -> Response:
        """Receive the unit in the workshop: condition (with photos, multipart), accessories
        and optionally a loan unit of the company's for the customer."""
        work_order = self.get_object()
        data = action_input(ReceiveUnitInput, request)
        return self._answer(
            unit_receive(
                actor=request.user,
                work_order=work_order,
                condition=data["condition"],
                accessories=data["accessories"],
                photos=_photos(request, data),
                loan_device=data["loan_device"],
            )
        )

    @extend_schema(request=None, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def start(self, request: Request, pk: Any = None) -> Response:
        """Start the work (a workshop unit leaves the queue, or remote support begins)."""
        work_order = self.get_object()
        return self._answer(work_start(actor=request.user, work_order=work_order))

    @extend_schema(request=ShipBackInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="ship-back", url_name="ship-back",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def ship_back(self, request: Request, pk: Any = None) -> Response:
        """Ship the unit back with the carrier and tracking number (and the loan unit back)."""
        work_order = self.get_object()
        data = action_input(ShipBackInput, request)
        return self._answer(unit_ship_back(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=SupplierSendInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="send-to-supplier",
            url_name="send-to-supplier", permission_classes=[IsAuthenticated])  # fmt: skip
    def send_to_supplier(self, request: Request, pk: Any = None) -> Response:
        """Send the unit to the supplier for repair, with the date it is expected back."""
        work_order = self.get_object()
        data = action_input(SupplierSendInput, request)
        return self._answer(supplier_send(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=SupplierReceiveInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="receive-from-supplier",
            url_name="receive-from-supplier", permission_classes=[IsAuthenticated])  # fmt: skip
    def receive_from_supplier(self, request: Request, pk: Any = None) -> Response:
        """The unit is back from the supplier with its report (text, and the file if any)."""
        work_order = self.get_object()
        data = action_input(SupplierReceiveInput, request)
        return self._answer(supplier_receive(actor=request.user, work_order=work_order, **data))
