from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    HOSPITAL = "hospital", _("Hospital")
    CLINIC = "clinic", _("Clinic")
    DISTRIBUTOR = "distributor", _("Distributor")
    CHAIN_STORE = "chain_store", _("Chain store")
    STORE = "store", _("Store")
    INDIVIDUAL = "individual", _("Individual")
    COMPANY = "company", _("Company")
    OTHER = "other", _("Other")


# Kinds whose users are customers: they see only their own organisation's records.
CUSTOMER_KINDS = frozenset(
    {
        OrganizationKind.HOSPITAL,
        OrganizationKind.CLINIC,
        OrganizationKind.CHAIN_STORE,
        OrganizationKind.STORE,
        OrganizationKind.INDIVIDUAL,
        OrganizationKind.OTHER,
    }
)
