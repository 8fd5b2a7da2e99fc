"""The customers app's records as UI and API resources."""

from medservice.core.registry import Resource, register
from medservice.customers.api.serializers import OrganizationSerializer
from medservice.customers.filtersets import OrganizationFilter
from medservice.customers.forms import OrganizationForm
from medservice.customers.models import Organization
from medservice.customers.selectors import organizations_visible_to

organizations = register(
    Resource(
        name="organizations",
        model=Organization,
        selector=organizations_visible_to,
        namespace="customers",
        list_columns=["name", "kind", "region", "credit_code", "parent"],
        detail_fields=[
            "name",
            "kind",
            "credit_code",
            "region",
            "parent",
            "served_by",
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
            "parent__name",
            "served_by",
            "notes",
        ],
        form_class=OrganizationForm,
        filterset_class=OrganizationFilter,
        serializer_class=OrganizationSerializer,
        search_fields=["name", "credit_code", "region"],
        ordering_fields=["name", "kind", "region", "created_at"],
        default_ordering=["name", "pk"],
        select_related=["parent"],
        prefetch_related=["served_by"],
    )
)
