from rest_framework.routers import DefaultRouter

from medservice.core.api.calendars import business_calendar_viewset
from medservice.core.api.views import AuditEventViewSet
from medservice.core.api.viewsets import resource_viewset
from medservice.core.resources import calendar_days, calendar_years


def register(router: DefaultRouter) -> None:
    router.register("audit-events", AuditEventViewSet, basename="audit-event")
    router.register("business-calendars", business_calendar_viewset(), basename="business-calendar")
    router.register("calendar-days", resource_viewset(calendar_days), basename="calendar-day")
    router.register("calendar-years", resource_viewset(calendar_years), basename="calendar-year")
