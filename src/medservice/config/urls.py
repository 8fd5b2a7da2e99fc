from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from medservice.core.views import healthz
from medservice.feedback import views_surveys as feedback_surveys
from medservice.tickets import public as tickets_public

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # A device's QR label opens its public fault-report page (the tickets app serves the form).
    path("r/<str:token>/", tickets_public.device_report, name="device-report"),
    # A satisfaction survey's one-time link (no sign-in; the feedback app serves it).
    path("survey/<str:token>/", feedback_surveys.survey_public, name="survey-answer"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("medservice.config.api_urls")),
    path("accounts/", include("medservice.accounts.urls")),
    path("customers/", include("medservice.customers.urls")),
    path("catalog/", include("medservice.catalog.urls")),
    path("installed-base/", include("medservice.installed_base.urls")),
    path("training/", include("medservice.training.urls")),
    path("tickets/", include("medservice.tickets.urls")),
    path("inventory/", include("medservice.inventory.urls")),
    path("service/", include("medservice.work_orders.urls")),
    path("quality/", include("medservice.quality.urls")),
    # Returns (/returns/...) and the customer's returns in the portal (/portal/returns/...).
    path("", include("medservice.returns.urls")),
    path("maintenance/", include("medservice.maintenance.urls")),
    path("feedback/", include("medservice.feedback.urls")),
    path("analytics/", include("medservice.analytics.urls")),
    # Issue 12: the administrator's outbound webhook pages.
    path("integrations/", include("medservice.integrations.urls")),
    # The customer portal and the public pages (fault report without login) of the tickets app.
    path("portal/", include(("medservice.tickets.portal", "portal"), namespace="portal")),
    path("report/", include(("medservice.tickets.public", "public"), namespace="public")),
    path("", include("medservice.core.urls")),
]
# Unmatched addresses under /api/ answer the API's JSON error body, not the HTML page.
handler404 = "medservice.core.views.not_found"
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
