"""API of the stores' books: `store-profiles` (with the printable `notice`), `opinion-entries`
(with `to-quality-case` and `unmask`), `opinion-reviews`, `missed-reviews` (read only) and
`shortage-entries` (with `close`, `notify` and `unmask`). Related records are given by id and
must be in the caller's scope: another one is refused as 400 naming the field. Personal values
come back masked."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.api.inputs import action_input
from medservice.core.crypto import mask_text
from medservice.customers.selectors import organizations_visible_to
from medservice.feedback.choices import ShortageStatus
from medservice.feedback.models import (
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)
from medservice.feedback.selectors_stores import (
    is_store,
    store_profile_allowed,
    store_refusal,
    store_within_reach,
)

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."
TIMESTAMPS = ["created_at", "updated_at"]


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id chosen among the records the caller may see: any other id is refused as not
    found, under the field's name."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "does_not_exist": gettext_lazy("There is no such record in your scope (id {pk_value})."),
    }

    def __init__(self, selector: Any, model: str, **kwargs: Any) -> None:
        from django.apps import apps

        self.selector = selector
        # The model's rows as the declared queryset (the schema reads it); never used to look up.
        kwargs["queryset"] = apps.get_model(model)._default_manager.none()
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return None
        return self.selector(request.user)

    def to_internal_value(self, data: Any) -> Any:
        queryset = self.get_queryset()
        if queryset is None:
            self.fail("does_not_exist", pk_value=data)
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            return queryset.get(pk=int(data))
        except (TypeError, ValueError, OverflowError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", pk_value=data)


def _scoped_store_field(**kwargs: Any) -> ScopedPrimaryKeyField:
    return ScopedPrimaryKeyField(
        organizations_visible_to,
        "customers.Organization",
        help_text="A store or chain store (organisation id).",
        **kwargs,
    )


def _validate_store(user: Any, store: Any, *, profile: bool = False) -> Any:
    if not (store_profile_allowed(store) if profile else is_store(store)):
        raise serializers.ValidationError(store_refusal(store, profile=profile))
    if not store_within_reach(user, store):
        raise serializers.ValidationError(
            _("%(organization)s is not one of your stores.") % {"organization": store}
        )
    return store


class _StoreSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)
    # A profile may be recorded for an own shop that is not yet a store (is_store needs it).
    store_profile = False

    def validate_store(self, store: Any) -> Any:
        if self.instance is not None and store != self.instance.store:
            raise serializers.ValidationError(_("A record stays with its store."))
        return _validate_store(self.context["request"].user, store, profile=self.store_profile)


def _users_for(user: Any) -> Any:
    from medservice.feedback.forms_stores import _users_for as users

    return users(user)


def _parts_for(user: Any) -> Any:
    from medservice.inventory.selectors import parts_visible_to

    return parts_visible_to(user)


class StoreProfileSerializer(_StoreSerializer):
    store_profile = True
    store = _scoped_store_field()
    manager = ScopedPrimaryKeyField(_users_for, "accounts.User", required=False, allow_null=True)
    quality_person = ScopedPrimaryKeyField(
        _users_for, "accounts.User", required=False, allow_null=True
    )
    notice_url = serializers.SerializerMethodField()

    class Meta:
        model = StoreProfile
        fields = [
            "id", "store", "regulator_name", "supervision_phone", "store_complaint_phone",
            "head_office_complaint_phone", "closes_at", "keeps_opinion_book", "manager",
            "quality_person", "notes", "notice_url", "version", *TIMESTAMPS,
        ]  # fmt: skip
        read_only_fields = ["id", *TIMESTAMPS]

    def get_notice_url(self, profile: StoreProfile) -> str:
        return f"/api/v1/store-profiles/{profile.pk}/notice/"


class OpinionEntrySerializer(_StoreSerializer):
    store = _scoped_store_field()
    device_model = ScopedPrimaryKeyField(
        device_models_visible_to, "catalog.DeviceModel", required=False, allow_null=True
    )
    customer_name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Returned masked."
    )
    customer_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=40,
        help_text="Returned masked; POST .../unmask/ shows it, audited.",
    )  # fmt: skip

    class Meta:
        model = OpinionEntry
        fields = [
            "id", "number", "store", "entry_date", "category", "content", "customer_name",
            "customer_phone", "device_model", "batch_number", "product_text", "answer",
            "answered_at", "answered_by", "quality_case", "recorded_by", "retain_until",
            "version", *TIMESTAMPS,
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "answered_at", "answered_by", "quality_case", "recorded_by",
            "retain_until", *TIMESTAMPS,
        ]  # fmt: skip

    def to_representation(self, instance: OpinionEntry) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["customer_name"] = mask_text(instance.customer_name)
        data["customer_phone"] = instance.customer_phone_masked
        return data


class OpinionReviewSerializer(_StoreSerializer):
    store = _scoped_store_field()

    class Meta:
        model = OpinionBookReview
        fields = [
            "id", "store", "day", "reviewed_at", "reviewed_by", "findings",
            "quality_safety_found", "version", *TIMESTAMPS,
        ]  # fmt: skip
        read_only_fields = ["id", "day", "reviewed_at", "reviewed_by", *TIMESTAMPS]


class MissedReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = MissedReview
        fields = ["id", "store", "day", "deadline", "recorded_at", "notified", *TIMESTAMPS]
        read_only_fields = fields


class ShortageEntrySerializer(_StoreSerializer):
    store = _scoped_store_field()
    device_model = ScopedPrimaryKeyField(
        device_models_visible_to, "catalog.DeviceModel", required=False, allow_null=True
    )
    part = ScopedPrimaryKeyField(_parts_for, "inventory.Part", required=False, allow_null=True)
    customer_name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Returned masked."
    )
    customer_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Returned masked."
    )
    customer_email = serializers.EmailField(
        required=False, allow_blank=True, help_text="Returned masked."
    )
    product = serializers.SerializerMethodField()

    class Meta:
        model = ShortageEntry
        fields = [
            "id", "number", "store", "requested_on", "device_model", "part", "product_text",
            "product", "quantity", "customer_name", "customer_phone", "customer_email",
            "status", "notified_at", "notified_by", "closed_at", "closed_by", "close_note",
            "recorded_by", "retain_until", "version", *TIMESTAMPS,
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "notified_at", "notified_by", "closed_at", "closed_by",
            "close_note", "recorded_by", "retain_until", *TIMESTAMPS,
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {"quantity": {"min_value": 1}}

    def get_product(self, entry: ShortageEntry) -> str:
        return entry.product_label

    def to_representation(self, instance: ShortageEntry) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["customer_name"] = mask_text(instance.customer_name)
        data["customer_phone"] = instance.customer_phone_masked
        data["customer_email"] = mask_text(instance.customer_email)
        return data


class ShortageCloseInput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[ShortageStatus.FULFILLED.value, ShortageStatus.CANCELLED.value]
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ContactDetailsSerializer(serializers.Serializer):
    customer_phone = serializers.CharField()
    customer_email = serializers.CharField(required=False)


RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such record in your scope."),
    409: OpenApiResponse(description="Not possible in the record's state."),
}


def store_profile_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    base = resource_viewset(resource)

    class StoreProfileViewSet(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__

        @extend_schema(
            responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: RESPONSES[404]}
        )
        @action(detail=True, methods=["get"])
        def notice(self, request: Request, pk: Any = None) -> HttpResponse:
            """The A4 notice to hang in the store (PDF): supervision and complaint phones."""
            from medservice.feedback.services_stores import store_notice_pdf

            profile = self.get_object()
            response = HttpResponse(store_notice_pdf(profile), content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="notice-{profile.pk}.pdf"'
            return response

    return StoreProfileViewSet


def opinion_entry_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    base = resource_viewset(resource)

    class OpinionEntryViewSet(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__
        # The permissions services_stores asks for: refused up front like every record action.
        action_permissions: ClassVar[dict[str, str]] = {
            "to-quality-case": "feedback.escalate_opinionentry",
            "unmask": "feedback.unmask_opinionentry",
        }

        @extend_schema(request=None, responses={200: OpinionEntrySerializer, **RESPONSES})
        @action(detail=True, methods=["post"], url_path="to-quality-case",
                url_name="to-quality-case", permission_classes=[IsAuthenticated])  # fmt: skip
        def to_quality_case(self, request: Request, pk: Any = None) -> Response:
            """Open the quality case of the entry (source: opinion book); the entry becomes
            quality-safety. 409 when it already has one."""
            from medservice.feedback.services_stores import opinion_entry_to_quality_case

            entry = opinion_entry_to_quality_case(actor=request.user, entry=self.get_object())
            return Response(
                OpinionEntrySerializer(entry, context=self.get_serializer_context()).data
            )

        @extend_schema(request=None, responses={200: ContactDetailsSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def unmask(self, request: Request, pk: Any = None) -> Response:
            """The customer's phone in full (audited)."""
            from medservice.feedback.services_stores import opinion_entry_unmask

            phone = opinion_entry_unmask(actor=request.user, entry=self.get_object())
            return Response({"customer_phone": phone})

    return OpinionEntryViewSet


def shortage_entry_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    base = resource_viewset(resource)

    class ShortageEntryViewSet(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__
        # The permissions services_stores asks for: refused before a closing's input is read.
        action_permissions: ClassVar[dict[str, str]] = {
            "close": "feedback.close_shortageentry",
            "notify": "feedback.change_shortageentry",
            "unmask": "feedback.unmask_shortageentry",
        }

        def _answer(self, entry: ShortageEntry) -> Response:
            entry = self.get_queryset().get(pk=entry.pk)
            return Response(
                ShortageEntrySerializer(entry, context=self.get_serializer_context()).data
            )

        @extend_schema(request=ShortageCloseInput, responses={200: ShortageEntrySerializer,
                                                              **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def close(self, request: Request, pk: Any = None) -> Response:
            """Close as fulfilled, or cancelled with the reason."""
            from medservice.feedback.services_stores import shortage_close

            entry = self.get_object()
            data = action_input(ShortageCloseInput, request)
            return self._answer(shortage_close(actor=request.user, entry=entry, **data))

        @extend_schema(request=None, responses={200: ShortageEntrySerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def notify(self, request: Request, pk: Any = None) -> Response:
            """Tell the customer the product is in, now (once; 409 if already told)."""
            from medservice.feedback.services_stores import shortage_notify_by_hand

            return self._answer(
                shortage_notify_by_hand(actor=request.user, entry=self.get_object())
            )

        @extend_schema(request=None, responses={200: ContactDetailsSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def unmask(self, request: Request, pk: Any = None) -> Response:
            """The customer's phone and e-mail in full (audited)."""
            from medservice.feedback.services_stores import shortage_entry_unmask

            return Response(shortage_entry_unmask(actor=request.user, entry=self.get_object()))

    return ShortageEntryViewSet
