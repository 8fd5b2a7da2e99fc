"""Catalogue master data is kept through the app's own pages, whose services check certificate
numbers and licences; the admin only shows which expiry warnings went out."""

from django.contrib import admin

from medservice.catalog.models import ExpiryWarning
from medservice.core.admin import ReadOnlyAdmin


@admin.register(ExpiryWarning)
class ExpiryWarningAdmin(ReadOnlyAdmin):
    list_display = ["content_type", "object_id", "expires_on", "threshold_days", "sent_on"]
    list_filter = ["threshold_days", "content_type"]
    date_hierarchy = "sent_on"
