from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.accounts.api.serializers import UserSerializer
from medservice.accounts.selectors import users_visible_to


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Users the caller may see; `me` is the caller."""

    serializer_class = UserSerializer
    # Everyone may list the people they work with; users_visible_to decides who that is.
    permission_classes = [permissions.IsAuthenticated]
    scoping_exempt = "scoped by users_visible_to; tested in tests/accounts/test_users_api.py"
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering_fields = ["username", "id"]
    filterset_fields = ["organization"]

    def get_queryset(self) -> Any:
        return users_visible_to(self.request.user).prefetch_related("groups").order_by("id")

    @extend_schema(responses=UserSerializer)
    @action(detail=False, permission_classes=[permissions.IsAuthenticated])
    def me(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


def register(router: DefaultRouter) -> None:
    router.register("users", UserViewSet, basename="user")
