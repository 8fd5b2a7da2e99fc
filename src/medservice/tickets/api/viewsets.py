"""The tickets API: list, read and register requests; every workflow action as
POST /api/v1/tickets/{id}/{action}/; the timeline, comments and files as sub-resources."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.schema import ANY_FILE, file_responses
from medservice.core.api.viewsets import resource_viewset
from medservice.core.errors import InvalidInputError
from medservice.tickets.actions import action_run
from medservice.tickets.api.serializers import (
    CommentSerializer,
    TicketListSerializer,
    TicketSerializer,
    TicketUnmaskSerializer,
    TimelineEntrySerializer,
)
from medservice.tickets.forms import ACTION_INPUTS, ActionForm
from medservice.tickets.resources import tickets
from medservice.tickets.selectors import timeline_visible_to
from medservice.tickets.services import ticket_comment, ticket_unmask
from medservice.tickets.workflow import TRANSITIONS


def form_errors(form: forms.Form, message: str) -> InvalidInputError:
    fields = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
    return InvalidInputError(
        message % {"fields": ", ".join(fields)} if "%(fields)s" in message else message,
        fields=fields,
    )


def _schema_field(field: forms.Field) -> serializers.Field:
    """The API documentation of an action's input, read from its form field."""
    options = {"required": field.required, "help_text": str(field.label or "")}
    if isinstance(field, forms.ModelChoiceField):
        return serializers.IntegerField(**options)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(
            choices=[value for value, _label in field.choices if value != ""], **options
        )
    if isinstance(field, forms.DateTimeField):
        return serializers.DateTimeField(**options)
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(**options)
    if isinstance(field, forms.DecimalField):
        return serializers.DecimalField(max_digits=7, decimal_places=2, **options)
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**options)
    return serializers.CharField(allow_blank=not field.required, **options)


def _action_method(name: str, form_class: type[ActionForm]) -> Any:
    transition = TRANSITIONS[name]
    request_shape = inline_serializer(
        name="Ticket" + "".join(part.title() for part in name.split("-")) + "Input",
        fields={key: _schema_field(field) for key, field in form_class.base_fields.items()},
    )

    def method(self: Any, request: Request, pk: Any = None) -> Response:
        ticket = self.get_object()
        if not hasattr(request.data, "get"):
            message = _("Send the action's inputs as one JSON object.")
            raise InvalidInputError(message, fields={"non_field_errors": [message]})
        form = form_class(data=request.data, user=request.user, ticket=ticket)
        if not form.is_valid():
            raise form_errors(form, _("The input is not valid: %(fields)s."))
        ticket = action_run(name, ticket=ticket, actor=request.user, data=form.cleaned_data)
        return Response(TicketSerializer(ticket, context=self.get_serializer_context()).data)

    method.__name__ = name.replace("-", "_")
    method.__doc__ = f"{transition.label}. Allowed from: {', '.join(sorted(transition.sources))}."
    method = extend_schema(
        request=request_shape,
        responses={
            200: TicketSerializer,
            400: OpenApiResponse(description="Bad input: the fields are named."),
            403: OpenApiResponse(description="The role may not take this action."),
            404: OpenApiResponse(description="No such request in your scope."),
            409: OpenApiResponse(description="Not possible in the request's current state."),
        },
    )(method)
    return action(
        detail=True,
        methods=["post"],
        url_path=name,
        url_name=name,
        permission_classes=[IsAuthenticated],
    )(method)


class TicketViewSetBase(resource_viewset(tickets)):  # type: ignore[misc]
    """Service requests. Filters: status, kind, channel, priority, organization, device, owner,
    overdue, open, mine, received_at_after/before; `?ordering=next_due_at` sorts by the next
    due time. Each workflow action is POST .../{id}/{action}/; a refused action answers 409
    (wrong state) or 400 (bad input) with the reason in the user's language."""

    transitions = TRANSITIONS
    # Unmasking has no row in the table; ticket_unmask asks for this permission after naming
    # the field, so it is refused up front too (403 before 400).
    action_permissions: ClassVar[dict[str, str]] = {"unmask": "tickets.unmask_ticket"}

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().prefetch_related("clocks")
        if self.action == "list":
            return queryset
        # The record shows its quality intake: joined, not one query more per record.
        return queryset.select_related("quality_intake")

    def get_serializer_class(self) -> Any:
        # A list row without the nested clocks: serialising 50 records x 3 clocks was most of
        # a list request's time at 1M tickets (bench/tickets.py).
        if self.action == "list":
            return TicketListSerializer
        return super().get_serializer_class()

    @extend_schema(responses={200: TimelineEntrySerializer(many=True)})
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated])
    def timeline(self, request: Request, pk: Any = None) -> Response:
        """Calls, e-mails, notes, files, state changes, messages and SLA events, newest first
        (customers see what is meant for them)."""
        ticket = self.get_object()
        entries = timeline_visible_to(ticket, request.user)
        page = self.paginate_queryset(entries)
        serializer = TimelineEntrySerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=CommentSerializer, responses={201: TimelineEntrySerializer})
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuthenticated],
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def comments(self, request: Request, pk: Any = None) -> Response:
        """Add a note or a file (photo, video, PDF; type read from the content, size limited)."""
        ticket = self.get_object()
        if not request.user.has_perm("tickets.add_timelineentry"):
            from medservice.core.errors import PermissionDeniedError

            raise PermissionDeniedError(_("You may not add to this request."))
        serializer = CommentSerializer(data=request.data)
        if not serializer.is_valid():
            raise InvalidInputError(
                _("The input is not valid."),
                fields={
                    key: [str(item) for item in value] for key, value in serializer.errors.items()
                },
            )
        entry = ticket_comment(
            ticket=ticket,
            actor=request.user,
            text=serializer.validated_data.get("text", ""),
            customer_visible=serializer.validated_data.get("customer_visible", False),
            attachment=serializer.validated_data.get("file"),
        )
        return Response(TimelineEntrySerializer(entry).data, status=201)

    @extend_schema(responses=file_responses(ANY_FILE))
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<entry_id>[0-9]+)",
        permission_classes=[IsAuthenticated],
    )
    def attachment(self, request: Request, pk: Any = None, entry_id: str = "") -> Any:
        """Download a file of the timeline (customers: only customer-visible ones)."""
        ticket = self.get_object()
        entry = (
            timeline_visible_to(ticket, request.user)
            .exclude(attachment="")
            .filter(pk=int(entry_id) if entry_id.isdigit() and len(entry_id) < 19 else 0)
            .first()
        )
        if entry is None:
            raise Http404
        return FileResponse(
            entry.attachment.open("rb"),
            as_attachment=True,
            filename=entry.attachment_name or "file",
            content_type=entry.attachment_type or "application/octet-stream",
        )

    @extend_schema(
        request=TicketUnmaskSerializer,
        responses={200: inline_serializer("TicketUnmasked", {"value": serializers.CharField()})},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def unmask(self, request: Request, pk: Any = None) -> Response:
        """Show the reporter's phone or e-mail in full (audited)."""
        ticket = self.get_object()
        serializer = TicketUnmaskSerializer(data=request.data)
        if not serializer.is_valid():
            raise InvalidInputError(
                _("Name the field to show: reporter_phone or reporter_email."),
                fields={
                    key: [str(item) for item in value] for key, value in serializer.errors.items()
                },
            )
        value = ticket_unmask(
            actor=request.user, ticket=ticket, field=serializer.validated_data["field"]
        )
        return Response({"value": value})


TicketViewSet = type(
    "TicketViewSet",
    (TicketViewSetBase,),
    {
        name.replace("-", "_"): _action_method(name, form_class)
        for name, form_class in ACTION_INPUTS.items()
    },
)
