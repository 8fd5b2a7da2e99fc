from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from medservice.accounts.models import User


def users_visible_to(user: Any) -> QuerySet[User]:
    """Staff with user rights see everyone; anyone else sees only the people of their own
    organisation."""
    if not getattr(user, "is_authenticated", False):
        return User.objects.none()
    if user.has_perm("accounts.view_user"):
        return User.objects.all()
    if user.organization_id is None:
        return User.objects.filter(pk=user.pk)
    return User.objects.filter(organization_id=user.organization_id)
