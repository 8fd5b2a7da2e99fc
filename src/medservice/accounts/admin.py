from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from medservice.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("MedService"), {"fields": ("organization", "phone", "language", "time_zone")}),
    )
    list_display = ["username", "email", "first_name", "last_name", "organization", "is_active"]
    list_filter = ["groups", "is_active", "organization__kind"]
