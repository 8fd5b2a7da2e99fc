"""The controlled documents API.

- `documents`: the register (list, read, create, update), each with the versions the user may
  see nested read-only; `GET documents/{id}/current/?on=YYYY-MM-DD` is the version in force on
  that day (today by default; 404 when none was); `POST documents/{id}/versions/` (multipart:
  version_label, file, change_summary, effective_on) drafts a new version.
- `document-versions`: list, read, update a draft (PATCH; a signed one answers 409);
  `POST document-versions/{id}/approve/` with `password` (and optionally `effective_on`),
  `POST document-versions/{id}/withdraw/` with `reason`; `GET document-versions/{id}/file/`.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.core.api.inputs import action_input
from medservice.core.api.schema import ANY_FILE, file_responses
from medservice.core.errors import InvalidInputError
from medservice.training.documents import (
    APPROVE_PERMISSION,
    document_version_add,
    document_version_approve,
    document_version_current,
    document_version_withdraw,
)
from medservice.training.models import ControlledDocument, DocumentVersion
from medservice.training.selectors import document_versions_visible_to

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."
TIMESTAMPS = ["created_at", "updated_at"]


class DocumentVersionSerializer(serializers.ModelSerializer):
    """A version; only a draft's label, summary and proposed date change here."""

    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)
    file_name = serializers.SerializerMethodField()

    class Meta:
        model = DocumentVersion
        fields = [
            "id",
            "document",
            "version_label",
            "file_name",
            "change_summary",
            "status",
            "effective_on",
            "superseded_on",
            "approved_by",
            "signed_at",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "document",
            "file_name",
            "status",
            "superseded_on",
            "approved_by",
            "signed_at",
            *TIMESTAMPS,
        ]

    def get_file_name(self, obj: DocumentVersion) -> str:
        return obj.file.name.rsplit("/", 1)[-1] if obj.file else ""


class ControlledDocumentSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)
    versions = serializers.SerializerMethodField()

    class Meta:
        model = ControlledDocument
        fields = [
            "id",
            "code",
            "title",
            "kind",
            "device_models",
            "owner",
            "versions",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "versions", *TIMESTAMPS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from medservice.catalog.selectors import device_models_visible_to
            from medservice.training.views_documents import document_owner_choices

            self.fields["device_models"].child_relation.queryset = device_models_visible_to(
                request.user
            )
            self.fields["owner"].queryset = document_owner_choices()

    @extend_schema_field(DocumentVersionSerializer(many=True))
    def get_versions(self, obj: ControlledDocument) -> list[dict[str, Any]]:
        rows = getattr(obj, "visible_versions", None)
        if rows is None:
            request = self.context.get("request")
            user = getattr(request, "user", None)
            rows = (
                document_versions_visible_to(user)
                .filter(document=obj)
                .order_by("-effective_on", "-pk")
            )
        return DocumentVersionSerializer(rows, many=True, context=self.context).data


class VersionAddSerializer(serializers.Serializer):
    version_label = serializers.CharField(max_length=20)
    file = serializers.FileField()
    change_summary = serializers.CharField(required=False, allow_blank=True, default="")
    effective_on = serializers.DateField(required=False, allow_null=True, default=None)


class VersionApproveSerializer(serializers.Serializer):
    password = serializers.CharField(
        trim_whitespace=False, help_text="The approver's password: the electronic signature."
    )
    effective_on = serializers.DateField(required=False, allow_null=True, default=None)


class VersionWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField()


RESPONSES = {
    400: OpenApiResponse(description="Bad input (a wrong password too): the fields are named."),
    403: OpenApiResponse(description="The role may not take this action, or wrote the version."),
    404: OpenApiResponse(description="No such record in your scope."),
    409: OpenApiResponse(description="Not possible in the version's current state."),
}


def _document_viewset() -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.training.views_documents import documents

    class ControlledDocumentViewSet(resource_viewset(documents)):  # type: ignore[misc]
        """Controlled service documents (manuals, procedures, checklists, forms) with the
        versions the user may see (a distributor: approved ones)."""

        serializer_class = ControlledDocumentSerializer

        def get_queryset(self) -> Any:
            visible = document_versions_visible_to(self.request.user).order_by(
                "-effective_on", "-pk"
            )
            return (
                super()
                .get_queryset()
                .prefetch_related(
                    "device_models",
                    Prefetch("versions", queryset=visible, to_attr="visible_versions"),
                )
            )

        @extend_schema(
            parameters=[
                OpenApiParameter("on", datetime.date, description="The day (default today).")
            ],
            responses={200: DocumentVersionSerializer, 404: RESPONSES[404]},
        )
        @action(detail=True, methods=["get"])
        def current(self, request: Request, pk: Any = None) -> Response:
            """The version in force on the day: what a work order done that day followed."""
            document = self.get_object()
            raw = request.query_params.get("on", "")
            day = None
            if raw:
                try:
                    day = parse_date(raw)
                except ValueError:
                    day = None
                if day is None:
                    message = _("Give the day as YYYY-MM-DD.")
                    raise InvalidInputError(message, fields={"on": [message]})
            version = document_version_current(document, on=day)
            if (
                version is None
                or not document_versions_visible_to(request.user).filter(pk=version.pk).exists()
            ):
                raise Http404
            return Response(
                DocumentVersionSerializer(version, context=self.get_serializer_context()).data
            )

        @extend_schema(
            request=VersionAddSerializer, responses={201: DocumentVersionSerializer, **RESPONSES}
        )
        @action(
            detail=True,
            methods=["post"],
            url_path="versions",
            url_name="versions",
            permission_classes=[IsAuthenticated],
            parser_classes=[MultiPartParser, FormParser, JSONParser],
        )
        def add_version(self, request: Request, pk: Any = None) -> Response:
            """Draft a new version with its file (multipart)."""
            document = self.get_object()
            data = action_input(VersionAddSerializer, request)
            version = document_version_add(actor=request.user, document=document, **data)
            return Response(
                DocumentVersionSerializer(version, context=self.get_serializer_context()).data,
                status=201,
            )

    return ControlledDocumentViewSet


def _version_viewset() -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.training.views_documents import document_versions

    class DocumentVersionViewSet(resource_viewset(document_versions)):  # type: ignore[misc]
        """Versions of controlled documents: approve (signed, password re-entered), withdraw,
        download. New versions are drafted under their document."""

        # Withdrawing asks one of two permissions by the version's state: its service decides.
        action_permissions: ClassVar[dict[str, str]] = {"approve": APPROVE_PERMISSION}

        serializer_class = DocumentVersionSerializer
        # The actions post; a version is never created here (POST documents/{id}/versions/).
        http_method_names = [*resource_viewset(document_versions).http_method_names, "post"]

        # Not an operation: POST is for the actions only, so the schema leaves it out.

        @extend_schema(exclude=True)
        def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            raise MethodNotAllowed("POST")

        def _answer(self, version: DocumentVersion) -> Response:
            version = DocumentVersion.objects.get(pk=version.pk)
            return Response(
                DocumentVersionSerializer(version, context=self.get_serializer_context()).data
            )

        @extend_schema(
            request=VersionApproveSerializer,
            responses={200: DocumentVersionSerializer, **RESPONSES},
        )
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def approve(self, request: Request, pk: Any = None) -> Response:
            """Approve a draft for use: the approver's signature (not its author's)."""
            version = self.get_object()
            data = action_input(VersionApproveSerializer, request)
            return self._answer(
                document_version_approve(actor=request.user, version=version, **data)
            )

        @extend_schema(
            request=VersionWithdrawSerializer,
            responses={200: DocumentVersionSerializer, **RESPONSES},
        )
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def withdraw(self, request: Request, pk: Any = None) -> Response:
            """Withdraw a draft or an approved version, with the reason."""
            version = self.get_object()
            data = action_input(VersionWithdrawSerializer, request)
            return self._answer(
                document_version_withdraw(
                    actor=request.user, version=version, reason=data["reason"]
                )
            )

        @extend_schema(responses={**file_responses(ANY_FILE), 404: RESPONSES[404]})
        @action(detail=True, methods=["get"])
        def file(self, request: Request, pk: Any = None) -> FileResponse:
            """The version's file."""
            version = self.get_object()
            if not version.file:
                raise Http404
            return FileResponse(
                version.file.open("rb"),
                as_attachment=True,
                filename=version.file.name.rsplit("/", 1)[-1],
            )

    return DocumentVersionViewSet


def register(router: DefaultRouter) -> None:
    """Register the documents and document-versions viewsets on the API router."""
    router.register("documents", _document_viewset(), basename="document")
    router.register("document-versions", _version_viewset(), basename="document-version")
