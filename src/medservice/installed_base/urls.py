from django.urls import path

from medservice.core.views import resource_urlpatterns
from medservice.installed_base import views
from medservice.installed_base.resources import contracts, deliveries, devices, holds

app_name = "installed_base"
urlpatterns = [
    *resource_urlpatterns(devices),
    *resource_urlpatterns(deliveries),
    *resource_urlpatterns(contracts),
    *resource_urlpatterns(holds),
    path("warranty-register/", views.warranty_register, name="warranty-register"),
    path("devices/options/", views.device_options, name="device-options"),
    path("holds/<int:pk>/release/", views.hold_release_view, name="hold-release"),
    path("devices/labels/", views.device_label_sheet, name="device-label-sheet"),
    path("devices/<int:pk>/label.<str:kind>", views.device_label, name="device-label"),
]
