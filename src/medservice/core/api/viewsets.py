"""Viewsets built from a Resource: the same selector and the same services as the UI."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.errors import PermissionDeniedError
from medservice.core.registry import Resource
from medservice.core.workflow import Transition


class ResourceViewSet(viewsets.ModelViewSet):
    resource: Resource
    # The app's workflow table, when its records have states: each POST action named like a
    # transition is refused (403) for a role without the transition's permission as soon as the
    # record is found, before its input is read, so a role learns nothing from validation.
    transitions: dict[str, Transition] | None = None
    # The permission of each POST action that has no transition (a check-out, a calibration,
    # a revocation), by URL name: refused up front the same way, so no action of a viewset
    # validates its input for a role its service would refuse anyway.
    action_permissions: dict[str, str] | None = None

    def get_object(self) -> Any:
        instance = super().get_object()  # out of scope: 404 first, whatever the role
        self.transition_permission_check()
        return instance

    def transition_permission_check(self) -> None:
        """Refuse a POST action to a role lacking its permission (403 before 400)."""
        if self.request.method != "POST" or not self.action:
            return
        # The action's URL name is the transition's (a method may be named otherwise, as
        # `dispatch_engineer` serves …/dispatch/ beside the view's own `dispatch`).
        handler = getattr(self, self.action, None)
        name = getattr(handler, "url_path", "") or self.action.replace("_", "-")
        transition = (self.transitions or {}).get(name)
        if transition is not None:
            if not self.request.user.has_perm(transition.permission):
                raise PermissionDeniedError(
                    _("You may not “%(action)s”.") % {"action": transition.label}
                )
            return
        permission = (self.action_permissions or {}).get(name)
        if permission is not None and not self.request.user.has_perm(permission):
            raise PermissionDeniedError(_("Your role may not take this action."))

    def get_queryset(self) -> Any:
        return self.resource.queryset_for(self.request.user).order_by(
            *self.resource.default_ordering
        )

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = self.resource.create(
            actor=self.request.user, model=self.resource.model, data=data
        )

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        expected = data.pop("version", None)
        serializer.instance = self.resource.update(
            actor=self.request.user,
            instance=serializer.instance,
            data=data,
            expected_version=expected,
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        reason = request.data.get("reason", "") if hasattr(request.data, "get") else ""
        reason = reason or request.query_params.get("reason", "")
        self.resource.delete(actor=request.user, instance=instance, reason=reason)
        return Response(status=204)


def resource_viewset(resource: Resource) -> type[ResourceViewSet]:
    allowed = ["get", "head", "options"]
    if resource.create is not None:
        allowed.append("post")
    if resource.update is not None:
        allowed += ["put", "patch"]
    if resource.delete is not None:
        allowed.append("delete")
    return type(
        f"{resource.model.__name__}ViewSet",
        (ResourceViewSet,),
        {
            "resource": resource,
            "serializer_class": resource.serializer_class,
            "queryset": resource.model._default_manager.none(),
            "filterset_class": resource.filterset_class,
            "search_fields": resource.search_fields,
            "ordering_fields": resource.ordering_fields,
            "http_method_names": allowed,
            "__doc__": resource.model.__doc__,
        },
    )
