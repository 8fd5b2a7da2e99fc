from typing import Any

from medservice.core.forms import ResourceForm
from medservice.customers.models import Organization
from medservice.customers.selectors import organizations_visible_to


class OrganizationForm(ResourceForm):
    class Meta:
        model = Organization
        fields = ["kind", "name", "credit_code", "region", "parent", "served_by", "notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = organizations_visible_to(self.user)
        self.fields["parent"].queryset = visible
        self.fields["served_by"].queryset = visible.filter(kind="distributor")
