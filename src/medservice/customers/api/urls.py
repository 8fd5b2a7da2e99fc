from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.core.api.viewsets import resource_viewset
from medservice.customers.api.serializers import UnmaskSerializer
from medservice.customers.resources import contacts, departments, organizations
from medservice.customers.services import contact_unmask


class ContactViewSet(resource_viewset(contacts)):  # type: ignore[misc]
    """Contacts of the organisations you may see; personal values come back masked.

    `?phone=` finds a contact by phone or mobile, however the number is written."""

    # contact_unmask asks for this permission after checking the field's name: refused up
    # front instead, so a role that may not unmask learns nothing from the validation.
    action_permissions: ClassVar[dict[str, str]] = {"unmask": "customers.unmask_contact"}

    @extend_schema(
        request=UnmaskSerializer,
        responses={
            200: inline_serializer(
                "UnmaskedValue",
                {"field": serializers.CharField(), "value": serializers.CharField()},
            )
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def unmask(self, request: Request, pk: Any = None) -> Response:
        contact = self.get_object()
        serializer = UnmaskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field = serializer.validated_data["field"]
        return Response(
            {
                "field": field,
                "value": contact_unmask(actor=request.user, contact=contact, field=field),
            }
        )


def register(router: DefaultRouter) -> None:
    router.register("organizations", resource_viewset(organizations), basename="organization")
    router.register("departments", resource_viewset(departments), basename="department")
    router.register("contacts", ContactViewSet, basename="contact")
