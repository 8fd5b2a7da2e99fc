from rest_framework import serializers

from medservice.core.crypto import mask_phone, mask_text
from medservice.customers.models import Contact, Department, Organization


class OrganizationSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Send the version you read: an update is refused (409) if it changed since.",
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "kind",
            "name",
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
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from medservice.customers.selectors import organizations_visible_to

            visible = organizations_visible_to(request.user)
            self.fields["parent"].queryset = visible
            self.fields["served_by"].child_relation.queryset = visible.filter(kind="distributor")


class DepartmentSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = Department
        fields = ["id", "organization", "name", "version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from medservice.customers.selectors import organizations_visible_to

            self.fields["organization"].queryset = organizations_visible_to(request.user)


class ContactSerializer(serializers.ModelSerializer):
    """Personal values are accepted in full and returned masked; POST .../unmask/ shows one."""

    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = Contact
        fields = [
            "id",
            "organization",
            "department",
            "name",
            "role",
            "phone",
            "mobile",
            "email",
            "wechat_id",
            "language",
            "portal_user",
            "consent_given_at",
            "notes",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "portal_user", "consent_given_at", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from medservice.customers.selectors import (
                departments_visible_to,
                organizations_visible_to,
            )

            self.fields["organization"].queryset = organizations_visible_to(request.user)
            self.fields["department"].queryset = departments_visible_to(request.user)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in ("phone", "mobile"):
            data[name] = mask_phone(data[name]) if data.get(name) else ""
        data["wechat_id"] = mask_text(data["wechat_id"]) if data.get("wechat_id") else ""
        data["email"] = mask_text(data["email"]) if data.get("email") else ""
        return data

    def validate(self, attrs):
        if self.instance is not None:
            # A client that sends back what it read (masked) must not overwrite the real value.
            for name, mask in (
                ("phone", mask_phone),
                ("mobile", mask_phone),
                ("email", mask_text),
                ("wechat_id", mask_text),
            ):
                current = getattr(self.instance, name) or ""
                if (
                    name in attrs
                    and current
                    and attrs[name] == mask(current)
                    and attrs[name] != current
                ):
                    attrs.pop(name)
        department = attrs.get("department")
        organization = attrs.get("organization") or getattr(self.instance, "organization", None)
        if (
            department is not None
            and organization is not None
            and department.organization_id != organization.pk
        ):
            from django.utils.translation import gettext as _

            raise serializers.ValidationError(
                {"department": [_("This department belongs to another organisation.")]}
            )
        return attrs


class UnmaskSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=["phone", "mobile", "wechat_id", "email", "name"])
