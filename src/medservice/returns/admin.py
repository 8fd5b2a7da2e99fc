"""Read-mostly admin views of the returns (the pages and the API are where work is done)."""

from django.contrib import admin

from medservice.returns.models import ReturnLine, ReturnRequest, ReturnRule


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "device", "delivery_line", "device_model", "batch_number", "serial_number", "quantity",
        "condition", "work_order",
    ]  # fmt: skip


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    list_display = ["number", "status", "organization", "reason", "decision", "requested_on"]
    list_filter = ["status", "decision", "reason"]
    search_fields = ["number"]
    inlines = [ReturnLineInline]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        # Every change goes through the services (workflow, audit, stock ledger).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(ReturnRule)
class ReturnRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "device_model", "product_line", "window_days", "active"]
    list_filter = ["active", "window_start", "condition_required"]
