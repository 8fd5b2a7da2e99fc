"""API of follow-ups (/api/v1/follow-ups/), customer visits (/api/v1/customer-visits/) and
their written opinions (/api/v1/visit-opinions/). Related records are given by id and must be
in the caller's scope (400 naming the field otherwise). Follow-ups are created by the system
when a request closes or a repair completes; their outcome is an action."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input
from medservice.core.crypto import mask_phone
from medservice.core.errors import PermissionDeniedError
from medservice.customers.selectors import departments_visible_to, organizations_visible_to
from medservice.feedback.choices import ConcernedDepartment, FollowUpOutcome
from medservice.feedback.models import CustomerVisit, FollowUp, FollowUpAttempt, VisitOpinion


def staff_users(user: Any = None) -> Any:
    """The company's own active staff: who may be given a follow-up or an opinion."""
    from medservice.accounts.models import User

    return User.objects.filter(organization__kind="company", is_active=True)


class ScopedSerializer(serializers.ModelSerializer):
    """Related-record choices come from the selectors: an id outside the caller's scope is
    refused as "does not exist" on that field (400)."""

    version = serializers.IntegerField(required=False, min_value=1)
    scoped_relations: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        for name, selector in self.scoped_relations.items():
            if name in self.fields and hasattr(self.fields[name], "queryset"):
                user = getattr(request, "user", None)
                self.fields[name].queryset = selector(user) if user else selector(None).none()


class FollowUpAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUpAttempt
        fields = ["at", "by", "outcome", "note"]
        read_only_fields = fields


class FollowUpSerializer(ScopedSerializer):
    """A follow-up call (回访) or use check. Only `assignee` and `due_on` change by PATCH; the
    outcome is recorded with POST .../{id}/outcome/. `contact_phone` is masked unless the
    caller may see contacts unmasked."""

    scoped_relations: ClassVar[dict[str, Any]] = {"assignee": staff_users}
    tries = FollowUpAttemptSerializer(many=True, read_only=True)
    contact_phone = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id", "number", "kind", "status", "ticket", "work_order", "organization", "device",
            "contact", "contact_phone", "assignee", "due_on", "attempts", "outcome",
            "outcome_note", "completed_at", "completed_by", "resulting_ticket", "tries",
            "version",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "kind", "status", "ticket", "work_order", "organization", "device",
            "contact", "attempts", "outcome", "outcome_note", "completed_at", "completed_by",
            "resulting_ticket",
        ]  # fmt: skip

    @extend_schema_field(serializers.CharField())
    def get_contact_phone(self, follow_up: FollowUp) -> str:
        contact = follow_up.contact
        if contact is None:
            return ""
        phone = contact.mobile or contact.phone or ""
        request = self.context.get("request")
        if request is not None and request.user.has_perm("customers.unmask_contact"):
            return phone
        return mask_phone(phone) if phone else ""


class FollowUpOutcomeInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=FollowUpOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class CustomerVisitSerializer(ScopedSerializer):
    """A customer visit (走访): kind planned (planned_on) or unplanned (visited_on). Opinions
    are added with POST .../{id}/opinions/."""

    scoped_relations: ClassVar[dict[str, Any]] = {
        "organization": organizations_visible_to, "department": departments_visible_to,
        "visitor": staff_users,
    }  # fmt: skip
    opinions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = CustomerVisit
        fields = [
            "id", "number", "kind", "status", "organization", "department", "visitor",
            "planned_on", "visited_on", "purpose", "people_met", "summary", "opinions",
            "version",
        ]  # fmt: skip
        read_only_fields = ["id", "number", "status", "opinions"]


class VisitOpinionSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitOpinion
        fields = [
            "id", "visit", "organization", "text", "given_by", "concerned", "routed_to",
            "status", "due_on", "answer", "answered_at", "answered_by",
        ]  # fmt: skip
        read_only_fields = fields


class OpinionInput(ScopedSerializer):
    """A written opinion recorded on a visit and routed to the department concerned."""

    scoped_relations: ClassVar[dict[str, Any]] = {"routed_to": staff_users}

    class Meta:
        model = VisitOpinion
        fields = ["text", "given_by", "concerned", "routed_to", "due_on"]
        extra_kwargs = {"concerned": {"choices": ConcernedDepartment.choices}}


class OpinionAnswerInput(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)


RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="Not in your scope."),
    409: OpenApiResponse(description="Not possible in the record's state."),
}


def _require(request: Request, permission: str) -> None:
    if not request.user.has_perm(permission):
        from django.utils.translation import gettext as _

        raise PermissionDeniedError(_("You may not do this."))


def follow_up_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.feedback.services_followups import follow_up_record

    base = with_post_actions(resource_viewset(resource))

    class FollowUpViewSet(base):  # type: ignore[misc, valid-type]
        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("tries")

        @extend_schema(request=FollowUpOutcomeInput,
                       responses={200: FollowUpSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def outcome(self, request: Request, pk: Any = None) -> Response:
            """Record one call: satisfied, problem persists (reopens the request or opens a
            linked one), new problem (opens a request) or not reached (retried until the last
            allowed try)."""
            record = self.get_object()
            _require(request, "feedback.record_followup")
            data = action_input(FollowUpOutcomeInput, request)
            saved = follow_up_record(actor=request.user, follow_up=record, **data)
            saved = self.get_queryset().get(pk=saved.pk)
            return Response(FollowUpSerializer(saved, context=self.get_serializer_context()).data)

    return FollowUpViewSet


def customer_visit_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.feedback.services_followups import opinion_add

    base = with_post_actions(resource_viewset(resource))

    class CustomerVisitViewSet(base):  # type: ignore[misc, valid-type]
        @extend_schema(request=OpinionInput, responses={201: VisitOpinionSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def opinions(self, request: Request, pk: Any = None) -> Response:
            """Record a written opinion and route it (the responsible person is told)."""
            visit = self.get_object()
            _require(request, "feedback.add_visitopinion")
            data = action_input(OpinionInput, request)
            opinion = opinion_add(actor=request.user, visit=visit, **data)
            return Response(VisitOpinionSerializer(opinion).data, status=201)

    return CustomerVisitViewSet


def visit_opinion_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.feedback.services_followups import opinion_answer

    base = with_post_actions(resource_viewset(resource))

    class VisitOpinionViewSet(base):  # type: ignore[misc, valid-type]
        @extend_schema(request=OpinionAnswerInput,
                       responses={200: VisitOpinionSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def answer(self, request: Request, pk: Any = None) -> Response:
            """The department's answer (what will be done); the visitor is told. The person
            it was routed to answers, or whoever may answer any opinion."""
            opinion = self.get_object()
            data = action_input(OpinionAnswerInput, request)
            saved = opinion_answer(actor=request.user, opinion=opinion, **data)
            return Response(VisitOpinionSerializer(saved).data)

    return VisitOpinionViewSet


def with_post_actions(base: type) -> type:
    """A resource without a generic create still takes its POST actions; a POST to the list
    stays refused (405)."""
    from rest_framework.exceptions import MethodNotAllowed

    if "post" in base.http_method_names:
        return base

    class WithPostActions(base):  # type: ignore[misc, valid-type]
        http_method_names = [*base.http_method_names, "post"]

        # Not an operation: POST is for the actions only, so the schema leaves it out.

        @extend_schema(exclude=True)
        def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            raise MethodNotAllowed("POST")

    WithPostActions.__name__ = base.__name__
    return WithPostActions
