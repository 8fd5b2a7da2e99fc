import time
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle


class TokenThrottle(SimpleRateThrottle):
    """Per client address, signed in or not: the endpoint exchanges passwords for tokens."""

    scope = "token"

    def timer(self) -> float:
        # DRF binds time.time when its module is first imported; if that happens while a test
        # has frozen the clock, the bound fake would outlive it. Read the clock at call time.
        return time.time()

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def get_rate(self) -> str | None:
        # Read at request time (DRF captures the rates at import) so settings stay in charge.
        from django.conf import settings

        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="username or e-mail")
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from django.contrib.auth import authenticate
        from django.utils.translation import gettext as _

        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"],
            password=attrs["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"password": [_("The username or password is not correct.")]}, code="authorization"
            )
        attrs["user"] = user
        return attrs


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username (or e-mail) and password for an API token."""

    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.serializer_class(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
