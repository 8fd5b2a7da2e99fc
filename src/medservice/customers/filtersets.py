import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from medservice.customers.models import Contact, Department, Organization


class OrganizationFilter(django_filters.FilterSet):
    class Meta:
        model = Organization
        fields = ["kind", "hospital_grade", "province", "region", "served_by"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        for item in self.filters.values():
            item.field.widget.attrs.setdefault("class", "form-select form-select-sm")


class BootstrapFilterSet(django_filters.FilterSet):
    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        for item in self.filters.values():
            item.field.widget.attrs.setdefault("class", "form-select form-select-sm")


class DepartmentFilter(BootstrapFilterSet):
    class Meta:
        model = Department
        fields = ["organization"]


class ContactFilter(BootstrapFilterSet):
    phone = django_filters.CharFilter(method="filter_phone", label=_("Phone (exact)"))

    class Meta:
        model = Contact
        fields = ["organization", "department"]

    def filter_phone(self, queryset, name, value):
        from medservice.core.crypto import blind_index

        digest = blind_index(value)
        return (
            queryset.filter(Q(phone_index=digest) | Q(mobile_index=digest))
            if digest
            else queryset.none()
        )
