"""Read-only admin views of the analytics records (the pages and the API are where work is
done: services keep the rules and the audit)."""

from django.contrib import admin

from medservice.analytics.models import KpiTarget


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(KpiTarget)
class KpiTargetAdmin(ReadOnlyAdmin):
    list_display = ["kpi", "organization", "device_model", "region", "team", "direction", "value"]
    list_filter = ["kpi", "active"]
