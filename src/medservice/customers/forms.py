from typing import Any

from medservice.core.forms import ResourceForm
from medservice.customers.models import Contact, Department, Organization
from medservice.customers.selectors import organizations_visible_to


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = organizations_visible_to(self.user)
        self.fields["parent"].queryset = visible
        self.fields["served_by"].queryset = visible.filter(kind="distributor")


class DepartmentForm(ResourceForm):
    class Meta:
        model = Department
        fields = ["organization", "name"]

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        from medservice.customers.selectors import departments_visible_to

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
