"""Account services."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from medservice.accounts.models import User
from medservice.core.context import audit_context


def user_update_preferences(*, actor: User, user: User, data: dict[str, Any]) -> User:
    with transaction.atomic(), audit_context(actor=actor):
        for key, value in data.items():
            setattr(user, key, value)
        user.full_clean()
        user.save()
    return user
