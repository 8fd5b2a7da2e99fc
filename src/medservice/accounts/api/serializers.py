from rest_framework import serializers

from medservice.accounts.models import User


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "organization",
            "language",
            "time_zone",
            "roles",
        ]
        read_only_fields = fields

    def get_roles(self, user: User) -> list[str]:
        return sorted(group.name for group in user.groups.all())
