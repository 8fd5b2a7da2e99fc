from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of DESIGN.md; each is a Django group of the same name."""

    ADMINISTRATOR = "administrator", _("Administrator")
    SERVICE_MANAGER = "service_manager", _("Service manager")
    SERVICE_AGENT = "service_agent", _("Service agent")
    FIELD_ENGINEER = "field_engineer", _("Field engineer")
    DISTRIBUTOR_ENGINEER = "distributor_engineer", _("Distributor engineer")
    QUALITY_STAFF = "quality_staff", _("Quality staff")
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    WAREHOUSE_KEEPER = "warehouse_keeper", _("Warehouse keeper")
    FINANCE = "finance", _("Finance")
    STORE_STAFF = "store_staff", _("Store staff")
    AUDITOR = "auditor", _("Auditor")
    CUSTOMER_USER = "customer_user", _("Customer user")
    # 等保 2.0 (issue 12): the administrator above is the system administrator; accounts and
    # roles, and reading the audit trail, are two other people's jobs.
    SECURITY_ADMINISTRATOR = "security_administrator", _("Security administrator")
    AUDIT_ADMINISTRATOR = "audit_administrator", _("Audit administrator")
