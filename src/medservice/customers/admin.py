from django.contrib import admin

from medservice.customers.models import Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "credit_code"]
    list_filter = ["kind"]
    search_fields = ["name", "credit_code"]
    filter_horizontal = ["served_by"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting asks for a reason and checks what still uses the record: the app's own page.
        return False
