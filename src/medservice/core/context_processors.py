from typing import Any

from django.http import HttpRequest

from medservice.core.navigation import navigation_for
from medservice.core.notifications import unread_count


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "navigation": navigation_for(user, request.path) if user is not None else [],
        "unread_notifications": unread_count(user),
    }
