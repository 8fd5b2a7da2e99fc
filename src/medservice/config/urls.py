from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from medservice.core.views import healthz
from medservice.installed_base import views as installed_base_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("r/<str:token>/", installed_base_views.device_report, name="device-report"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("medservice.config.api_urls")),
    path("accounts/", include("medservice.accounts.urls")),
    path("customers/", include("medservice.customers.urls")),
    path("catalog/", include("medservice.catalog.urls")),
    path("installed-base/", include("medservice.installed_base.urls")),
    path("", include("medservice.core.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
