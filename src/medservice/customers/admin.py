from django.contrib import admin

from medservice.customers.models import Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "credit_code"]
    list_filter = ["kind"]
    search_fields = ["name", "credit_code"]
    filter_horizontal = ["served_by"]
