import django_filters

from medservice.customers.models import Organization


class OrganizationFilter(django_filters.FilterSet):
    class Meta:
        model = Organization
        fields = ["kind", "region", "served_by"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        for item in self.filters.values():
            item.field.widget.attrs.setdefault("class", "form-select form-select-sm")
