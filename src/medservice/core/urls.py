from typing import Any

from django.urls import path

from medservice.core import views
from medservice.core.calendar_views import BusinessCalendarRefreshView
from medservice.core.registry import Resource
from medservice.core.resources import business_calendars, calendar_days, calendar_years


def _resource_view(cls: Any, resource: Resource) -> Any:
    function = cls.as_view(resource=resource)
    function.resource = resource
    return function


app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.inbox_read, name="inbox-read"),
    path("imports/new/<str:kind>/", views.import_upload, name="import-upload"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/confirm/", views.import_confirm_view, name="import-confirm"),
    *views.resource_urlpatterns(business_calendars),
    path(
        "business-calendars/<int:pk>/refresh/",
        _resource_view(BusinessCalendarRefreshView, business_calendars),
        name="business-calendars-refresh",
    ),
    *views.resource_urlpatterns(calendar_days),
    *views.resource_urlpatterns(calendar_years),
]
