from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from medservice.core.models import AuditEvent, JobLease, LegalHold, Notification, Signature


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: visible to those allowed, never edited or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "occurred_at", "actor_label", "job", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label", "request_id"]


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ["printed_name", "meaning", "signed_at", "content_type", "object_id"]


@admin.register(JobLease)
class JobLeaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "next_run_at", "last_status", "last_finished_at", "run_count"]


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    """Holds are placed and released with a reason through the services, never edited here."""

    list_display = ["content_type", "object_id", "reason", "created_at", "released_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "subject", "created_at", "read_at"]
