from typing import Any

from django.urls import reverse_lazy

from medservice.core.forms import ResourceForm
from medservice.core.widgets import AutocompleteSelect
from medservice.customers.models import Contact, Department, Organization
from medservice.customers.selectors import departments_visible_to, organizations_visible_to


def organization_autocomplete() -> AutocompleteSelect:
    """The widget for choosing an organisation: there are tens of thousands, so the page holds
    only the chosen one and the browser searches the rest (names, credit codes)."""
    return AutocompleteSelect(reverse_lazy("customers:organization-options"))


def department_autocomplete(*, depends_on: str = "organization") -> AutocompleteSelect:
    """The widget for choosing a department, searched within the organisation chosen in the
    form's `depends_on` field (all visible departments while none is chosen)."""
    return AutocompleteSelect(reverse_lazy("customers:department-options"), depends_on=depends_on)


class OrganizationForm(ResourceForm):
    class Meta:
        model = Organization
        fields = [
            "kind",
            "name",
            "credit_code",
            "hospital_grade",
            "province",
            "city",
            "district",
            "address",
            "region",
            "phone",
            "parent",
            "served_by",
            "salesperson",
            "notes",
        ]
        widgets = {"parent": organization_autocomplete()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = organizations_visible_to(self.user)
        self.fields["parent"].queryset = visible
        self.fields["served_by"].queryset = visible.filter(kind="distributor")


class DepartmentForm(ResourceForm):
    class Meta:
        model = Department
        fields = ["organization", "name"]
        widgets = {"organization": organization_autocomplete()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)


class ContactForm(ResourceForm):
    SENSITIVE = ("phone", "mobile", "email", "wechat_id")

    class Meta:
        model = Contact
        fields = [
            "organization",
            "department",
            "name",
            "role",
            "phone",
            "mobile",
            "email",
            "wechat_id",
            "language",
            "notes",
        ]
        widgets = {
            "organization": organization_autocomplete(),
            "department": department_autocomplete(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["department"].queryset = departments_visible_to(self.user)
        if self.instance.pk and not (self.user and self.user.has_perm("customers.unmask_contact")):
            # Without the need to see them, personal values cannot be shown, so not edited.
            for name in self.SENSITIVE:
                self.fields.pop(name)

    def displayed(self) -> None:
        """Opening an existing contact for editing shows its personal data in full: audited."""
        if not self.instance.pk:
            return
        from medservice.customers.services import contact_unmask

        for name in self.SENSITIVE:
            if name in self.fields and getattr(self.instance, name):
                contact_unmask(actor=self.user, contact=self.instance, field=name)
