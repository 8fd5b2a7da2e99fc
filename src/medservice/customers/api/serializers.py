from rest_framework import serializers

from medservice.customers.models import Organization


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
            "region",
            "parent",
            "served_by",
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
