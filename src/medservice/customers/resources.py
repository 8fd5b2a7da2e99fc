"""The customers app's records as UI and API resources."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register
from medservice.core.views import ResourceDetailView
from medservice.customers.api.serializers import (
    ContactSerializer,
    DepartmentSerializer,
    OrganizationSerializer,
)
from medservice.customers.filtersets import ContactFilter, DepartmentFilter, OrganizationFilter
from medservice.customers.forms import ContactForm, DepartmentForm, OrganizationForm
from medservice.customers.models import Contact, Department, Organization
from medservice.customers.selectors import (
    contacts_visible_to,
    departments_visible_to,
    organizations_visible_to,
)
from medservice.customers.services import contact_create, contact_update


class ContactDetailView(ResourceDetailView):
    """The contact page: personal values masked, each revealed on request (audited)."""

    extra_template = "customers/contact_personal.html"

    def extra_context_for(self, obj: Contact) -> dict[str, Any]:
        return {
            "personal_fields": [
                (name, label) for name, label in PERSONAL_FIELD_LABELS if getattr(obj, name)
            ]
        }


PERSONAL_FIELD_LABELS = [
    ("phone", _("phone")),
    ("mobile", _("mobile phone")),
    ("email", _("e-mail")),
    ("wechat_id", _("WeChat id")),
]


organizations = register(
    Resource(
        name="organizations",
        model=Organization,
        selector=organizations_visible_to,
        namespace="customers",
        list_columns=[
            "name",
            "kind",
            "hospital_grade",
            "province",
            "city",
            "credit_code",
            "parent",
        ],
        detail_fields=[
            "name",
            "kind",
            "credit_code",
            "hospital_grade",
            "province",
            "city",
            "district",
            "address",
            "phone",
            "region",
            "parent",
            "served_by",
            "salesperson",
            "notes",
            "created_at",
            "updated_at",
        ],
        export_fields=[
            "id",
            "name",
            "kind",
            "region",
            "credit_code",
            "hospital_grade",
            "province",
            "city",
            "district",
            "address",
            "phone",
            "parent__name",
            "served_by",
            "notes",
        ],
        form_class=OrganizationForm,
        filterset_class=OrganizationFilter,
        serializer_class=OrganizationSerializer,
        search_fields=["name", "credit_code", "region", "city"],
        ordering_fields=["name", "kind", "region", "created_at"],
        default_ordering=["name", "pk"],
        select_related=["parent"],
        prefetch_related=["served_by"],
    )
)

departments = register(
    Resource(
        name="departments",
        model=Department,
        selector=departments_visible_to,
        namespace="customers",
        list_columns=["name", "organization"],
        detail_fields=["name", "organization"],
        form_class=DepartmentForm,
        filterset_class=DepartmentFilter,
        serializer_class=DepartmentSerializer,
        search_fields=["name", "organization__name"],
        ordering_fields=["name"],
        default_ordering=["organization__name", "name", "pk"],
        select_related=["organization"],
    )
)

contacts = register(
    Resource(
        name="contacts",
        model=Contact,
        selector=contacts_visible_to,
        namespace="customers",
        list_columns=[
            "name",
            "organization",
            "department",
            "role",
            "phone_masked",
            "mobile_masked",
        ],
        detail_fields=[
            "name",
            "organization",
            "department",
            "role",
            "phone_masked",
            "mobile_masked",
            "language",
            "portal_user",
            "consent_given_at",
            "notes",
        ],
        export_fields=[
            "id",
            "name",
            "organization__name",
            "department__name",
            "role",
            "phone_masked",
            "mobile_masked",
            "language",
        ],
        form_class=ContactForm,
        filterset_class=ContactFilter,
        serializer_class=ContactSerializer,
        search_fields=["name", "organization__name", "role"],
        ordering_fields=["name", "created_at"],
        default_ordering=["name", "pk"],
        select_related=["organization", "department"],
        create=contact_create,
        update=contact_update,
        detail_view=ContactDetailView,
    )
)


def _departments_of(organization: Organization, user: Any):
    return departments_visible_to(user).filter(organization=organization)


def _contacts_of(organization: Organization, user: Any):
    return contacts_visible_to(user).filter(organization=organization).select_related("department")


organizations.related += [
    Related(_("Departments"), _departments_of, ["name"], "customers:departments-detail"),
    Related(
        _("Contacts"),
        _contacts_of,
        ["name", "department", "role", "phone_masked"],
        "customers:contacts-detail",
    ),
]
