from rest_framework.routers import DefaultRouter

from medservice.core.api.views import AuditEventViewSet


def register(router: DefaultRouter) -> None:
    router.register("audit-events", AuditEventViewSet, basename="audit-event")
