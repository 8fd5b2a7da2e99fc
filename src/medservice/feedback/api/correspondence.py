"""API of the correspondence archive (`correspondence`): letters, faxes and e-mails filed per
organisation and product. `POST correspondence/from-email/` files an e-mail from its .eml
(multipart); `POST correspondence/{id}/files/` adds a scan; `GET .../files/{file_id}/` gives
it back. Organisation, request and case are ids in the caller's scope (400 naming the field)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.api.inputs import action_input
from medservice.core.api.schema import ANY_FILE, file_responses
from medservice.customers.selectors import organizations_visible_to
from medservice.feedback.api.stores import RESPONSES, VERSION_HELP, ScopedPrimaryKeyField
from medservice.feedback.models import Letter, LetterFile


def _tickets_for(user: Any) -> Any:
    from medservice.tickets.selectors import tickets_visible_to

    return tickets_visible_to(user)


def _cases_for(user: Any) -> Any:
    from medservice.quality.selectors import cases_visible_to

    return cases_visible_to(user)


class LetterFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = LetterFile
        fields = ["id", "original_name", "content_type", "url", "created_at"]
        read_only_fields = fields

    def get_url(self, item: LetterFile) -> str:
        return f"/api/v1/correspondence/{item.letter_id}/files/{item.pk}/"


class LetterSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyField(organizations_visible_to, "customers.Organization")
    device_model = ScopedPrimaryKeyField(
        device_models_visible_to, "catalog.DeviceModel", required=False, allow_null=True
    )
    ticket = ScopedPrimaryKeyField(_tickets_for, "tickets.Ticket", required=False, allow_null=True)
    quality_case = ScopedPrimaryKeyField(
        _cases_for, "quality.QualityCase", required=False, allow_null=True
    )
    files = LetterFileSerializer(many=True, read_only=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = Letter
        fields = [
            "id", "number", "kind", "direction", "letter_date", "subject", "organization",
            "counterpart", "their_reference", "device_model", "summary", "ticket",
            "quality_case", "email_message_id", "files", "recorded_by", "retain_until",
            "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "email_message_id", "files", "recorded_by", "retain_until",
            "created_at", "updated_at",
        ]  # fmt: skip


class LetterFromEmailInput(serializers.Serializer):
    file = serializers.FileField(help_text="The e-mail as saved from the mail program (.eml).")
    organization = ScopedPrimaryKeyField(organizations_visible_to, "customers.Organization")
    device_model = ScopedPrimaryKeyField(
        device_models_visible_to, "catalog.DeviceModel", required=False, allow_null=True
    )
    ticket = ScopedPrimaryKeyField(_tickets_for, "tickets.Ticket", required=False, allow_null=True)
    quality_case = ScopedPrimaryKeyField(
        _cases_for, "quality.QualityCase", required=False, allow_null=True
    )


class LetterAttachInput(serializers.Serializer):
    file = serializers.FileField(help_text="A photo or PDF scan.")


def letter_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    base = resource_viewset(resource)

    class LetterViewSet(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__
        parser_classes = [JSONParser, MultiPartParser, FormParser]

        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("files")

        def _answer(self, letter: Letter, status: int = 200) -> Response:
            letter = self.get_queryset().get(pk=letter.pk)
            return Response(
                LetterSerializer(letter, context=self.get_serializer_context()).data,
                status=status,
            )

        @extend_schema(request={"multipart/form-data": LetterFromEmailInput},
                       responses={201: LetterSerializer, **RESPONSES})  # fmt: skip
        @action(detail=False, methods=["post"], url_path="from-email", url_name="from-email")
        def from_email(self, request: Request) -> Response:
            """File an e-mail from its .eml: subject, sender and date are read from it."""
            from medservice.feedback.services_correspondence import letter_from_email

            data = action_input(LetterFromEmailInput, request)
            letter = letter_from_email(
                actor=request.user,
                upload=data["file"],
                organization=data["organization"],
                device_model=data.get("device_model"),
                ticket=data.get("ticket"),
                quality_case=data.get("quality_case"),
            )
            return self._answer(letter, status=201)

        @extend_schema(request={"multipart/form-data": LetterAttachInput},
                       responses={200: LetterSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], url_path="files", url_name="files")
        def attach(self, request: Request, pk: Any = None) -> Response:
            """Add a scan (photo or PDF) to the correspondence."""
            from medservice.feedback.services_correspondence import letter_file_attach

            letter = self.get_object()
            if not request.user.has_perm("feedback.change_letter"):
                from rest_framework.exceptions import PermissionDenied

                raise PermissionDenied
            data = action_input(LetterAttachInput, request)
            letter_file_attach(actor=request.user, letter=letter, upload=data["file"])
            return self._answer(letter)

        @extend_schema(
            parameters=[OpenApiParameter("file_id", int, OpenApiParameter.PATH)],
            responses={**file_responses(ANY_FILE), 404: RESPONSES[404]},
        )
        @action(detail=True, methods=["get"], url_path=r"files/(?P<file_id>\d+)",
                url_name="file")  # fmt: skip
        def file(self, request: Request, pk: Any = None, file_id: Any = None) -> FileResponse:
            """One file of the correspondence."""
            letter = self.get_object()
            item = get_object_or_404(letter.files.all(), pk=file_id)
            return FileResponse(
                item.file.open("rb"), filename=item.original_name, content_type=item.content_type
            )

    return LetterViewSet
