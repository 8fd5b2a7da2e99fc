"""The REST API under /api/v1/: one router, each app registers its viewsets in api/urls.py."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from medservice.accounts.api.urls import register as register_accounts
from medservice.accounts.api.views import ObtainTokenView
from medservice.analytics.api.urls import extra_urlpatterns as analytics_extra_urlpatterns
from medservice.analytics.api.urls import register as register_analytics
from medservice.catalog.api.urls import register as register_catalog
from medservice.core.api.urls import register as register_core
from medservice.customers.api.urls import register as register_customers
from medservice.feedback.api.urls import extra_urlpatterns as feedback_extra_urlpatterns
from medservice.feedback.api.urls import register as register_feedback
from medservice.installed_base.api.urls import register as register_installed_base
from medservice.integrations.api.urls import register as register_integrations
from medservice.inventory.api.urls import register as register_inventory
from medservice.maintenance.api.urls import register as register_maintenance
from medservice.quality.api.urls import register as register_quality
from medservice.returns.api.urls import register as register_returns
from medservice.tickets.api.urls import extra_urlpatterns as tickets_extra_urlpatterns
from medservice.tickets.api.urls import register as register_tickets
from medservice.training.api.urls import register as register_training
from medservice.work_orders.api.urls import register as register_work_orders

router = DefaultRouter()
for register in (
    register_core,
    register_accounts,
    register_customers,
    register_integrations,
    register_catalog,
    register_installed_base,
    register_training,
    register_tickets,
    register_inventory,
    register_work_orders,
    register_quality,
    register_returns,
    register_maintenance,
    register_feedback,
    register_analytics,
):
    register(router)

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Issue 10 follow-ups and surveys: the public survey answer and the survey results.
    *feedback_extra_urlpatterns(),
    # Issue 11: the KPI figures and their records.
    *analytics_extra_urlpatterns(),
    # Issue 12 intake: call centres and WeChat bridges register requests.
    *tickets_extra_urlpatterns(),
    *router.urls,
]
