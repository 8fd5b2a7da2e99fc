"""List filters of the customers' records. Organisation and department choices are limited to
what the user may see and offered through the autocomplete, so a filter neither lists another
customer's name nor renders every organisation into the page."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.customers.choices import OrganizationKind
from medservice.customers.forms import department_autocomplete, organization_autocomplete
from medservice.customers.models import Contact, Department, Organization
from medservice.customers.selectors import departments_visible_to, organizations_visible_to


def scope_customer_filters(filters: dict[str, django_filters.Filter], user: Any) -> None:
    """Make the `organization` and `department` filters of a filter set choose among what
    `user` may see, through the autocomplete. The querysets stay on the filters: they refuse
    an id the user may not see, and are never rendered whole."""
    if "organization" in filters:
        filters["organization"].queryset = organizations_visible_to(user)
        filters["organization"].extra["widget"] = organization_autocomplete()
    if "department" in filters:
        filters["department"].queryset = departments_visible_to(user)
        filters["department"].extra["widget"] = department_autocomplete()


def bootstrap_filter_widgets(filters: dict[str, django_filters.Filter]) -> None:
    for item in filters.values():
        widget = item.field.widget
        css = "form-control" if getattr(widget, "input_type", None) == "text" else "form-select"
        widget.attrs.setdefault("class", f"{css} {css}-sm")


class BootstrapFilterSet(django_filters.FilterSet):
    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        self.scope_choices(getattr(request, "user", None))
        bootstrap_filter_widgets(self.filters)

    def scope_choices(self, user: Any) -> None:
        """Before the fields are built: a filter's field keeps the queryset it was built with."""
        scope_customer_filters(self.filters, user)


class OrganizationFilter(BootstrapFilterSet):
    class Meta:
        model = Organization
        fields = ["kind", "hospital_grade", "province", "region", "served_by"]

    def scope_choices(self, user: Any) -> None:
        super().scope_choices(user)
        # Distributors are few, so they stay a list; but only those the user may see.
        self.filters["served_by"].queryset = organizations_visible_to(user).filter(
            kind=OrganizationKind.DISTRIBUTOR
        )


class DepartmentFilter(BootstrapFilterSet):
    class Meta:
        model = Department
        fields = ["organization"]


class ContactFilter(BootstrapFilterSet):
    phone = django_filters.CharFilter(method="filter_phone", label=_("Phone (exact)"))

    class Meta:
        model = Contact
        fields = ["organization", "department"]

    def filter_phone(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from medservice.core.crypto import blind_index

        digest = blind_index(value)
        return (
            queryset.filter(Q(phone_index=digest) | Q(mobile_index=digest))
            if digest
            else queryset.none()
        )
