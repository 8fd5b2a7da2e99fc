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


class HospitalGrade(models.TextChoices):
    """China's hospital grading (医院等级)."""

    GRADE_3A = "3A", _("Grade III, class A (三级甲等)")
    GRADE_3B = "3B", _("Grade III, class B (三级乙等)")
    GRADE_3 = "3", _("Grade III (三级)")
    GRADE_2A = "2A", _("Grade II, class A (二级甲等)")
    GRADE_2B = "2B", _("Grade II, class B (二级乙等)")
    GRADE_2 = "2", _("Grade II (二级)")
    GRADE_1 = "1", _("Grade I (一级)")
    UNGRADED = "none", _("Not graded")
